// The contactor command line; the commands arrive with the CLI issue.
print("contactor: not yet implemented")
