"""What both HTTP clients share: capped body reads, transport errors, retries."""
