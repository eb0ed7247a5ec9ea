"""Reference clients for the SEEK Pass and VerifyPass APIs (they never import the sandbox)."""
