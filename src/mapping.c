/* mapping.c — (to be written) */
#include "config.h"
#include "mapping.h"
