/* tool_help.c */
#include "config.h"
#include "tool.h"
