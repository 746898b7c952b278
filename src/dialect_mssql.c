/* dialect_mssql.c — (to be written) */
#include "config.h"
#include "dialect.h"
