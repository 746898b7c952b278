/* tool_main.c */
#include "config.h"
#include "tool.h"
int main(void) { return 0; }
