"""Users: sign-up, email verification, password reset: what the email tasks need."""
