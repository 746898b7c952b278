/* keyset.c — (to be written) */
#include "config.h"
#include "keyset.h"
