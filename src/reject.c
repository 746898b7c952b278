/* reject.c — (to be written) */
#include "config.h"
#include "reject.h"
