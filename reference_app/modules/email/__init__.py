"""Email: the seed's seven email tasks, sent over SMTP, once each; and the local mail catcher."""
