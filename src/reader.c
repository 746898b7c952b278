/* reader.c — (to be written) */
#include "config.h"
#include "reader.h"
