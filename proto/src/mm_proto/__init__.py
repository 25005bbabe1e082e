"""The bus contract: every message between services, the subject names and the codecs."""
