/* nexd's control-socket request parser. */
#include <stddef.h>
#include <stdint.h>

#include "control/control.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct control_request r;
	char err[256];

	if (control_request_parse((const char *)data, size, &r, err, sizeof(err)) == 0)
		control_request_release(&r);
	return 0;
}
