return "provider"
