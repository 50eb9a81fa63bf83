"""The one exception type the wire codecs raise for bad input from the network."""


class ProtocolError(Exception):
    """The peer broke the protocol; the message says how, for a person reading the log.

    The I/O glue catches it, logs it with the peer address, counts it and closes that
    connection only.
    """
