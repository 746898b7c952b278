#ifndef MIGRATE_TOOL_H
#define MIGRATE_TOOL_H
#endif
