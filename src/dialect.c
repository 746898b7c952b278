/* dialect.c — (to be written) */
#include "config.h"
#include "dialect.h"
