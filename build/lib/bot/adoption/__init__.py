"""Ward adoption: campaign lifecycle and roll-over, a ward's own pack from its lists, posters."""
