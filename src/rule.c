/* rule.c — (to be written) */
#include "config.h"
#include "rule.h"
