/* batch.c — (to be written) */
#include "config.h"
#include "batch.h"
