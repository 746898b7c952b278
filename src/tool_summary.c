/* tool_summary.c */
#include "config.h"
#include "tool.h"
