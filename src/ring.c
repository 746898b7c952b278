/* ring.c — (to be written) */
#include "config.h"
#include "ring.h"
