/* dialect_sqlite.c — (to be written) */
#include "config.h"
#include "dialect.h"
