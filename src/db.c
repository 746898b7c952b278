/* db.c — (to be written) */
#include "config.h"
#include "db.h"
