/* worker.c — (to be written) */
#include "config.h"
#include "worker.h"
