/* input.c — (to be written) */
#include "config.h"
#include "input.h"
