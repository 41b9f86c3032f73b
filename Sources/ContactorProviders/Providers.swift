import Contactor
