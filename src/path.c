/* path.c — (to be written) */
#include "config.h"
#include "path.h"
