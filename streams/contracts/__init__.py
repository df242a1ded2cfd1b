"""The bottom layer: topic models, ids, the codec, the topic catalog, decisions and errors.

Every other layer may import these; they import nothing of the hub above them.
"""
