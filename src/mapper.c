/* mapper.c — (to be written) */
#include "config.h"
#include "mapper.h"
