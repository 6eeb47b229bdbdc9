"""Loa: the ward's digital loudspeaker and clipboard for the Action Month."""
