/**
 * Header blocks are read this far at most, for routing and for a message's fingerprint;
 * no real header comes close. In a file of its own so that reading it does not load the
 * header parser (and libmime with it) for accounts without a route.
 */
export const MAX_HEADER_BYTES = 1024 * 1024;
