/* stats.c — (to be written) */
#include "config.h"
#include "stats.h"
