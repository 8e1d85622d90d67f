"""`hms`, the command-line client of the Policy Deployment Pipeline (standard library, click and rich only)."""
