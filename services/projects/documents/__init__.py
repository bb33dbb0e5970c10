"""The documents vault: an association's documents (statutes, RIB, accounts…) and their versions, each content
stored once under its sha256; uploads judged by their bytes; downloads; pins by submitted dossiers and the
compliance check the funding service asks for. `service` holds the rules, `uploads` what is received,
`pins` what funding asks, `storage` the blobs, `content_types` the sniffing."""
