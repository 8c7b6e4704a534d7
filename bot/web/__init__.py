"""The web console for union staff, departments and safety officers (issue 17)."""
