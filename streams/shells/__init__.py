"""One thin shell per stage: wires its pure core (agents/<stage>) onto the kernel."""
