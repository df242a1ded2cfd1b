"""The Faust kernel every stage shell runs on: the hub, channels, tables, the batch loop, the
timer, the interpreter of decisions and the one broker-failure policy."""
