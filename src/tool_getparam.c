/* tool_getparam.c */
#include "config.h"
#include "tool.h"
