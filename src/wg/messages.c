#include "wg/messages.h"

enum message_type message_classify(const void *buf, size_t len)
{
	uint32_t type;

	if (len < sizeof(struct message_header))
		return MESSAGE_INVALID;
	type = le32_load(buf); /* the three reserved bytes must be zero */
	switch (type) {
	case MESSAGE_HANDSHAKE_INITIATION:
		return len == sizeof(struct message_handshake_initiation) ? MESSAGE_HANDSHAKE_INITIATION
									  : MESSAGE_INVALID;
	case MESSAGE_HANDSHAKE_RESPONSE:
		return len == sizeof(struct message_handshake_response) ? MESSAGE_HANDSHAKE_RESPONSE
									: MESSAGE_INVALID;
	case MESSAGE_HANDSHAKE_COOKIE:
		return len == sizeof(struct message_handshake_cookie) ? MESSAGE_HANDSHAKE_COOKIE
								      : MESSAGE_INVALID;
	case MESSAGE_DATA:
		return len >= MESSAGE_MINIMUM_LENGTH && len <= MESSAGE_MAX_LENGTH ? MESSAGE_DATA
										 : MESSAGE_INVALID;
	default:
		return MESSAGE_INVALID;
	}
}
