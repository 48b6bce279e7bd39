import RarangiClient
print("bench placeholder")
