/* dialect_pgsql.c — (to be written) */
#include "config.h"
#include "dialect.h"
