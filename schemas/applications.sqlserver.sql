-- Target DDL for mappings/applications.xml (sqlserver), as printed by:
--   migrate --print-ddl --dialect sqlserver -m mappings/applications.xml
IF OBJECT_ID(N'[dbo].[app_base]', N'U') IS NULL CREATE TABLE [dbo].[app_base] (
    [app_id] int NOT NULL,
    [received] datetime2(7) NULL,
    [product] varchar(8) NULL,
    [amount] decimal(12,2) NULL,
    [source] nvarchar(260) NULL,
    CONSTRAINT [PK_app_base] PRIMARY KEY ([app_id])
);
IF OBJECT_ID(N'[dbo].[contact_base]', N'U') IS NULL CREATE TABLE [dbo].[contact_base] (
    [con_id] int NOT NULL,
    [app_id] int NOT NULL,
    [last_name] nvarchar(64) NOT NULL,
    [birth_date] date NULL,
    [phone] varchar(16) NULL,
    [lang] char(2) NULL,
    CONSTRAINT [PK_contact_base] PRIMARY KEY ([con_id], [app_id])
);
IF OBJECT_ID(N'[dbo].[contact_address]', N'U') IS NULL CREATE TABLE [dbo].[contact_address] (
    [con_id] int NOT NULL,
    [app_id] int NOT NULL,
    [city] nvarchar(64) NULL,
    CONSTRAINT [PK_contact_address] PRIMARY KEY ([con_id], [app_id])
);
