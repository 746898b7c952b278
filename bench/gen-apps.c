/* gen-apps.c — deterministic generator of loan-application XML for the bench
 * and the tests.
 *
 *   gen-apps --records N [--seed S] [--invalid PCT] [--duplicates PCT]
 *            [--start-id K] [--gzip] [-o FILE] [-v]
 *
 * Writes <applications xmlns="urn:example:apps"> with N <application>
 * records (about 1 KB each; the shape of schemas/applications.xsd, loaded by
 * mappings/applications.xml) to stdout or FILE.  The same arguments always
 * give byte-identical output: every random choice comes from our own
 * xoshiro256** generator, never from rand() or the clock.
 *
 * How a file is laid out:
 *   - Positions are cut into blocks of 1000.  In each block a seeded partial
 *     shuffle picks round(PCT*size/100) positions to carry one defect
 *     (--invalid) and, disjoint from those, the positions that repeat an
 *     earlier record (--duplicates).
 *   - Every other position is an "original": the o-th original has app_id
 *     K+o and content drawn from a generator seeded by (seed, o) alone, so an
 *     original can be written again later, byte for byte.
 *   - A duplicate writes again a uniformly chosen earlier original that had
 *     no defect: same app_id, same contacts and con_ids, same bytes.
 *   - A defect is exactly one of: product outside CARD|LOAN|AUTO|HELOC,
 *     amount that is not a number, birth_date 1985-02-30, last_name missing,
 *     phone holding two numbers (more than 16 digits once non-digits go).
 *     app_id stays valid and unique.
 *
 * Owns: one output buffer (flushed by write(2) or gzwrite in 1 MiB pieces)
 * and a bitmap of which originals carry a defect.  Prints nothing on stdout
 * but the document; with -v one line on stderr with records and bytes. */
#include "config.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

#define BLOCK 1000                    /* positions per defect/duplicate block */
#define OUT_FLUSH (1u << 20)          /* flush the buffer beyond this size */
#define OUT_CAP (OUT_FLUSH + 65536u)  /* one record never exceeds the slack */
#define MAX_ID 715827882L             /* con_id = 3*app_id-2+n must fit int */

/* ---- the random generator: splitmix64 seeding, xoshiro256** ---- */

typedef struct rng {
    uint64_t s[4];
} rng;

/* Returns the next splitmix64 value of *x (and advances it). */
static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Seeds r for stream `stream`, item `index` of the run's seed. */
static void rng_seed(rng *r, uint64_t seed, uint64_t stream, uint64_t index)
{
    uint64_t x = seed;
    x = splitmix64(&x) ^ (stream * 0xD1B54A32D192ED03ull);
    x = splitmix64(&x) ^ index;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

/* Returns x rotated left by k bits. */
static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Returns the next 64 random bits of r. */
static inline uint64_t rng_next(rng *r)
{
    uint64_t *s = r->s;
    uint64_t res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return res;
}

/* Returns a number in [0, n) (multiply-shift; the bias is far below 2^-32). */
static inline uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* Returns a number in [lo, hi]. */
static inline long rng_range(rng *r, long lo, long hi)
{
    return lo + (long)rng_below(r, (uint32_t)(hi - lo + 1));
}

/* Returns 1 with probability pct/100. */
static inline int rng_pct(rng *r, unsigned pct)
{
    return rng_below(r, 100) < pct;
}

/* ---- the data: countries with their names, cities, streets, phones ---- */

/* Text in these tables is already XML-escaped (&amp;). */
typedef struct name_t {
    const char *text;   /* as written */
    const char *ascii;  /* for e-mail addresses */
} name_t;

typedef struct city_t {
    const char *name;
    const char *zip;    /* template: '#' is a digit */
    const char *code;   /* three letters, for branch codes */
} city_t;

typedef struct country_t {
    const char *code;   /* ISO 3166 alpha-2 */
    const char *lang;   /* ISO 639-1 */
    unsigned weight;
    const name_t *first;
    size_t nfirst;
    const name_t *last;
    size_t nlast;
    const city_t *cities;
    size_t ncities;
    const char *const *streets;  /* template: '%' is a number 1..99 */
    size_t nstreets;
    const char *const *phones;   /* template: '#' is a digit */
    size_t nphones;
    const char *const *mails;
    size_t nmails;
    const char *const *employers;
    size_t nemployers;
} country_t;

static const name_t de_first[] = {
    {"Jürgen", "juergen"}, {"Jörg", "joerg"}, {"Anna", "anna"}, {"Sören", "soeren"},
    {"Lukas", "lukas"}, {"Käthe", "kaethe"}, {"Maximilian", "maximilian"},
    {"Sophie", "sophie"}, {"Björn", "bjoern"}, {"Hannah", "hannah"},
    {"Günther", "guenther"}, {"Lea", "lea"}, {"Felix", "felix"}, {"Mia", "mia"},
};
static const name_t de_last[] = {
    {"Müller", "mueller"}, {"Schäfer", "schaefer"}, {"Weiß", "weiss"},
    {"Groß", "gross"}, {"Köhler", "koehler"}, {"Schmidt", "schmidt"},
    {"Becker", "becker"}, {"Hoffmann", "hoffmann"}, {"Strauß", "strauss"},
    {"Schröder", "schroeder"}, {"Wagner", "wagner"}, {"Krüger", "krueger"},
    {"von Löwenstein-Scharffeneck", "loewenstein"},
};
static const city_t de_cities[] = {
    {"Berlin", "10###", "BER"}, {"München", "80###", "MUC"}, {"Köln", "50###", "CGN"},
    {"Düsseldorf", "40###", "DUS"}, {"Nürnberg", "90###", "NUE"},
    {"Hamburg", "20###", "HAM"}, {"Frankfurt am Main", "60###", "FRA"},
    {"Görlitz", "02###", "GRZ"},
};
static const char *const de_streets[] = {
    "Hauptstraße %", "Schloßallee %", "Bahnhofstraße %a", "Goethestraße %",
    "Am Großen Wannsee %", "Königsallee %", "Mühlenweg %", "Lindenstraße %",
};
static const char *const de_phones[] = {
    "+49 (30) ####-####", "+49 (89) ###-####", "+49 151 ########", "+49 (221) ######",
};
static const char *const de_mails[] = {"web.de", "gmx.de", "t-online.de", "gmail.com"};
static const char *const de_employers[] = {
    "Siemens AG", "Deutsche Bahn AG", "Müller &amp; Söhne GmbH", "Bäckerei Groß",
    "Stadtwerke München", "self-employed", "retired", "Universität zu Köln",
};

static const name_t fr_first[] = {
    {"François", "francois"}, {"Hélène", "helene"}, {"Zoé", "zoe"},
    {"Jérôme", "jerome"}, {"Amélie", "amelie"}, {"Noël", "noel"},
    {"Léa", "lea"}, {"Théo", "theo"}, {"Camille", "camille"}, {"Gaëlle", "gaelle"},
};
static const name_t fr_last[] = {
    {"Lefèvre", "lefevre"}, {"Dubois", "dubois"}, {"Béranger", "beranger"},
    {"Moreau", "moreau"}, {"Fontaine", "fontaine"}, {"Lemaître", "lemaitre"},
    {"Mercier", "mercier"}, {"Girard", "girard"}, {"d'Aubigné", "daubigne"},
};
static const city_t fr_cities[] = {
    {"Paris", "750##", "PAR"}, {"Lyon", "6900#", "LYS"}, {"Marseille", "130##", "MRS"},
    {"Besançon", "25000", "BES"}, {"Nîmes", "300##", "NIM"}, {"Orléans", "450##", "ORL"},
};
static const char *const fr_streets[] = {
    "% rue de la République", "% avenue des Champs-Élysées", "% boulevard Saint-Michel",
    "% place de l'Église", "% rue du Général-de-Gaulle", "% quai de Saône",
};
static const char *const fr_phones[] = {"+33 1 ## ## ## ##", "+33 6 ## ## ## ##", "+33 4 ## ## ## ##"};
static const char *const fr_mails[] = {"orange.fr", "free.fr", "laposte.net", "gmail.com"};
static const char *const fr_employers[] = {
    "Société Générale", "Électricité de France", "Café de l'Opéra", "SNCF",
    "Renault S.A.S.", "self-employed", "retired",
};

static const name_t es_first[] = {
    {"José", "jose"}, {"Begoña", "begona"}, {"Íñigo", "inigo"}, {"María", "maria"},
    {"Sofía", "sofia"}, {"Martín", "martin"}, {"Lucía", "lucia"}, {"Ramón", "ramon"},
};
static const name_t es_last[] = {
    {"Muñoz", "munoz"}, {"Peña", "pena"}, {"Ibáñez", "ibanez"}, {"García", "garcia"},
    {"Núñez", "nunez"}, {"Fernández", "fernandez"}, {"Castaño", "castano"},
    {"Sánchez de la Fuente", "sanchez"},
};
static const city_t es_cities[] = {
    {"Madrid", "280##", "MAD"}, {"Málaga", "290##", "AGP"}, {"A Coruña", "150##", "LCG"},
    {"Córdoba", "140##", "ODB"}, {"Logroño", "260##", "RJL"}, {"Barcelona", "080##", "BCN"},
};
static const char *const es_streets[] = {
    "Calle Mayor %", "Avenida de la Constitución %", "Calle de Alcalá %, %º",
    "Paseo de Gràcia %", "Plaza España %",
};
static const char *const es_phones[] = {"+34 91 ### ## ##", "+34 6## ### ###", "+34 93 ### ## ##"};
static const char *const es_mails[] = {"telefonica.net", "yahoo.es", "gmail.com"};
static const char *const es_employers[] = {
    "Telefónica S.A.", "Banco Santander", "Mercadona", "Ayuntamiento de Málaga",
    "self-employed", "retired",
};

static const name_t pl_first[] = {
    {"Łukasz", "lukasz"}, {"Małgorzata", "malgorzata"}, {"Paweł", "pawel"},
    {"Zofia", "zofia"}, {"Michał", "michal"}, {"Agnieszka", "agnieszka"},
    {"Wojciech", "wojciech"}, {"Łucja", "lucja"},
};
static const name_t pl_last[] = {
    {"Wiśniewski", "wisniewski"}, {"Kowalska", "kowalska"}, {"Woźniak", "wozniak"},
    {"Łuczak", "luczak"}, {"Dąbrowski", "dabrowski"}, {"Zieliński", "zielinski"},
    {"Kamińska", "kaminska"}, {"Szczęsny", "szczesny"},
};
static const city_t pl_cities[] = {
    {"Warszawa", "00-###", "WAW"}, {"Kraków", "30-###", "KRK"}, {"Łódź", "90-###", "LCJ"},
    {"Gdańsk", "80-###", "GDN"}, {"Wrocław", "50-###", "WRO"}, {"Poznań", "60-###", "POZ"},
};
static const char *const pl_streets[] = {
    "ul. Marszałkowska %", "ul. Świętokrzyska %/%", "al. Jerozolimskie %",
    "ul. Długa %", "ul. Piotrkowska %",
};
static const char *const pl_phones[] = {"+48 22 ### ## ##", "+48 5## ### ###", "+48 12 ### ## ##"};
static const char *const pl_mails[] = {"wp.pl", "onet.pl", "interia.pl", "gmail.com"};
static const char *const pl_employers[] = {
    "PKO Bank Polski", "Żabka Polska sp. z o.o.", "Orlen S.A.", "Politechnika Łódzka",
    "self-employed", "retired",
};

static const name_t hu_first[] = {
    {"Ödön", "odon"}, {"Zsófia", "zsofia"}, {"Gergő", "gergo"}, {"Réka", "reka"},
    {"Bence", "bence"}, {"Kinga", "kinga"}, {"Levente", "levente"}, {"Dóra", "dora"},
};
static const name_t hu_last[] = {
    {"Kovács", "kovacs"}, {"Szőke", "szoke"}, {"Tóth", "toth"}, {"Nagy", "nagy"},
    {"Kőszegi", "koszegi"}, {"Horváth", "horvath"}, {"Szűcs", "szucs"},
};
static const city_t hu_cities[] = {
    {"Budapest", "1###", "BUD"}, {"Győr", "90##", "GYR"}, {"Pécs", "76##", "PEC"},
    {"Debrecen", "40##", "DEB"}, {"Szőny", "2921", "SZO"},
};
static const char *const hu_streets[] = {
    "Andrássy út %", "Váci utca %", "Kossuth Lajos tér %", "Rákóczi út %. %/%",
};
static const char *const hu_phones[] = {"+36 1 ### ####", "+36 30 ### ####", "+36 96 ### ###"};
static const char *const hu_mails[] = {"freemail.hu", "citromail.hu", "gmail.com"};
static const char *const hu_employers[] = {
    "OTP Bank Nyrt.", "Magyar Telekom", "Richter Gedeon", "self-employed", "retired",
};

static const name_t jp_first[] = {
    {"太郎", "taro"}, {"花子", "hanako"}, {"健一", "kenichi"}, {"さくら", "sakura"},
    {"翔太", "shota"}, {"美咲", "misaki"},
};
static const name_t jp_last[] = {
    {"佐藤", "sato"}, {"鈴木", "suzuki"}, {"高橋", "takahashi"}, {"田中", "tanaka"},
    {"渡辺", "watanabe"}, {"伊藤", "ito"},
};
static const city_t jp_cities[] = {
    {"東京", "1##-####", "TYO"}, {"大阪", "5##-####", "OSA"}, {"京都", "60#-####", "KYO"},
    {"札幌", "06#-####", "SPK"},
};
static const char *const jp_streets[] = {
    "銀座%丁目%-%", "中央区日本橋%-%-%", "北区梅田%-%-%", "渋谷区神南%-%-%",
};
static const char *const jp_phones[] = {"+81 3-####-####", "+81 90-####-####", "+81 6-####-####"};
static const char *const jp_mails[] = {"yahoo.co.jp", "docomo.ne.jp", "gmail.com"};
static const char *const jp_employers[] = {
    "株式会社日立製作所", "トヨタ自動車株式会社", "Sony Group Corporation", "self-employed",
};

static const name_t cn_first[] = {
    {"伟", "wei"}, {"芳", "fang"}, {"秀英", "xiuying"}, {"磊", "lei"}, {"静", "jing"},
    {"建华", "jianhua"},
};
static const name_t cn_last[] = {
    {"王", "wang"}, {"李", "li"}, {"张", "zhang"}, {"刘", "liu"}, {"陈", "chen"},
    {"欧阳", "ouyang"},
};
static const city_t cn_cities[] = {
    {"北京", "100###", "PEK"}, {"上海", "200###", "SHA"}, {"广州", "510###", "CAN"},
    {"深圳", "518###", "SZX"},
};
static const char *const cn_streets[] = {
    "朝阳路%号", "南京东路%号", "人民大道%号%室", "中山路%号",
};
static const char *const cn_phones[] = {"+86 10 #### ####", "+86 138 #### ####", "+86 21 #### ####"};
static const char *const cn_mails[] = {"qq.com", "163.com", "126.com"};
static const char *const cn_employers[] = {
    "中国银行", "华为技术有限公司", "Lenovo Group", "self-employed",
};

static const name_t us_first[] = {
    {"James", "james"}, {"Mary", "mary"}, {"Robert", "robert"}, {"Jennifer", "jennifer"},
    {"Michael", "michael"}, {"Linda", "linda"}, {"Chloé", "chloe"}, {"DeShawn", "deshawn"},
};
static const name_t us_last[] = {
    {"Smith", "smith"}, {"Johnson", "johnson"}, {"O'Brien", "obrien"},
    {"Williams", "williams"}, {"Rodríguez", "rodriguez"}, {"Nguyễn", "nguyen"},
    {"Brown", "brown"}, {"Kowalczyk", "kowalczyk"},
};
static const city_t us_cities[] = {
    {"New York", "100##", "NYC"}, {"San Francisco", "941##", "SFO"},
    {"Chicago", "606##", "CHI"}, {"Austin", "787##", "AUS"}, {"Boston", "021##", "BOS"},
};
static const char *const us_streets[] = {
    "% Oak Street", "% Main St, Apt %", "% Maple Avenue", "% Martin Luther King Jr Blvd",
    "% Broadway, Suite %",
};
static const char *const us_phones[] = {"+1 (212) 555-####", "+1 (415) ###-####", "+1 (312) ###-####"};
static const char *const us_mails[] = {"gmail.com", "yahoo.com", "outlook.com", "icloud.com"};
static const char *const us_employers[] = {
    "Acme Corp.", "Johnson &amp; Johnson", "City of Austin", "Walmart Inc.",
    "self-employed", "retired",
};

static const name_t gb_first[] = {
    {"Oliver", "oliver"}, {"Amelia", "amelia"}, {"Harry", "harry"}, {"Isla", "isla"},
    {"Siobhán", "siobhan"}, {"Rhys", "rhys"}, {"Eilidh", "eilidh"},
};
static const name_t gb_last[] = {
    {"Jones", "jones"}, {"Taylor", "taylor"}, {"Davies", "davies"}, {"Evans", "evans"},
    {"Ó Súilleabháin", "osullivan"}, {"Featherstonehaugh", "featherstonehaugh"},
    {"Patel", "patel"},
};
static const city_t gb_cities[] = {
    {"London", "SW# #AA", "LON"}, {"Manchester", "M# #BD", "MAN"},
    {"Edinburgh", "EH# #QJ", "EDI"}, {"Cardiff", "CF## #AB", "CWL"},
};
static const char *const gb_streets[] = {
    "% High Street", "Flat %, % Baker Street", "% Queen's Road", "% Princes Street",
};
static const char *const gb_phones[] = {"+44 20 #### ####", "+44 7### ######", "+44 161 ### ####"};
static const char *const gb_mails[] = {"btinternet.com", "hotmail.co.uk", "gmail.com"};
static const char *const gb_employers[] = {
    "NHS Greater Glasgow", "Marks &amp; Spencer plc", "Tesco PLC", "self-employed", "retired",
};

#define COUNTRY(cc, lang, w, p)                                                \
    {cc, lang, w, p##_first, NELEM(p##_first), p##_last, NELEM(p##_last),      \
     p##_cities, NELEM(p##_cities), p##_streets, NELEM(p##_streets),           \
     p##_phones, NELEM(p##_phones), p##_mails, NELEM(p##_mails),               \
     p##_employers, NELEM(p##_employers)}

static const country_t countries[] = {
    COUNTRY("DE", "de", 24, de), COUNTRY("FR", "fr", 12, fr), COUNTRY("ES", "es", 10, es),
    COUNTRY("PL", "pl", 10, pl), COUNTRY("HU", "hu", 6, hu), COUNTRY("JP", "ja", 6, jp),
    COUNTRY("CN", "zh", 5, cn), COUNTRY("US", "en", 15, us), COUNTRY("GB", "en", 12, gb),
};

static const char *const products[] = {"CARD", "LOAN", "AUTO", "HELOC"};
static const char *const bad_products[] = {"LEASE", "MORTGAGE", "card", "CARDS", "Loan", "SAVINGS"};
static const char *const bad_amounts[] = {"12,500.00", "n/a", "EUR 5000", "5000-", "TBD", "1.250,00"};
static const char *const channels[] = {"WEB", "BRANCH", "PHONE", "PARTNER", "MOBILE"};
static const char *const statuses[] = {"RECEIVED", "IN_REVIEW", "APPROVED", "DECLINED", "WITHDRAWN"};
static const char *const notes[] = {
    "Customer requested a callback after 17:00.",
    "Documents received by e-mail; copy of ID is hard to read.",
    "Existing customer since 2011 — salary account &amp; savings plan.",
    "Kunde wünscht Rückruf am Vormittag, bitte nicht vor 9 Uhr.",
    "Client préfère être contacté par e-mail, pas de démarchage.",
    "Spoke with Łucja at the branch; prefers Polish.",
    "Income verified &lt;3 payslips&gt;, employer letter pending.",
    "Co-applicant is the spouse; same household.",
    "Rate quoted: 4.9 % p.a. for 60 months.",
    "お客様は平日の午後の連絡を希望。",
    "Referred by partner dealer \"AutoHaus Süd\".",
    "Asked whether early repayment is free of charge.",
};

/* ---- output: one buffer, written in 1 MiB pieces ---- */

typedef struct out {
    int fd;            /* plain output, or -1 */
    gzFile gz;         /* gzip output, or NULL */
    const char *name;  /* for messages */
    char *buf;
    size_t len;
    uint64_t total;    /* bytes written so far (uncompressed) */
} out;

/* Returns 0 after writing the buffer out, -1 (message printed) on failure. */
static int out_flush(out *o)
{
    const char *p = o->buf;
    size_t n = o->len;
    if (o->gz) {
        while (n > 0) {
            unsigned piece = n > (1u << 30) ? (1u << 30) : (unsigned)n;
            int w = gzwrite(o->gz, p, piece);
            if (w <= 0) {
                int zerr;
                const char *msg = gzerror(o->gz, &zerr);
                fprintf(stderr, "gen-apps: %s: %s\n", o->name,
                        zerr == Z_ERRNO ? strerror(errno) : msg);
                return -1;
            }
            p += w;
            n -= (size_t)w;
        }
    } else {
        while (n > 0) {
            ssize_t w = write(o->fd, p, n);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                fprintf(stderr, "gen-apps: %s: %s\n", o->name, strerror(errno));
                return -1;
            }
            p += w;
            n -= (size_t)w;
        }
    }
    o->total += o->len;
    o->len = 0;
    return 0;
}

/* Appends n bytes. */
static inline void put_mem(out *o, const char *s, size_t n)
{
    assert(o->len + n <= OUT_CAP);
    memcpy(o->buf + o->len, s, n);
    o->len += n;
}

/* Appends a NUL-terminated string. */
static inline void put_str(out *o, const char *s)
{
    put_mem(o, s, strlen(s));
}

/* Appends a string literal (length known at compile time). */
#define put_lit(o, lit) put_mem((o), (lit), sizeof(lit) - 1)

/* Appends v in decimal. */
static inline void put_uint(out *o, uint64_t v)
{
    char tmp[24];
    size_t n = 0;
    do {
        tmp[sizeof tmp - 1 - n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    put_mem(o, tmp + sizeof tmp - n, n);
}

/* Appends v in decimal, zero-padded to `width` digits. */
static inline void put_pad(out *o, unsigned v, int width)
{
    assert(o->len + (size_t)width <= OUT_CAP);
    for (int i = width - 1; i >= 0; i--) {
        o->buf[o->len + (size_t)i] = (char)('0' + v % 10);
        v /= 10;
    }
    o->len += (size_t)width;
}

/* Appends cents as "1234.56". */
static inline void put_money(out *o, uint64_t cents)
{
    put_uint(o, cents / 100);
    put_lit(o, ".");
    put_pad(o, (unsigned)(cents % 100), 2);
}

/* Appends template t with each '#' a random digit and each '%' a number 1..99. */
static void put_tmpl(out *o, rng *r, const char *t)
{
    for (const char *p = t; *p; p++) {
        if (*p == '#') {
            char c = (char)('0' + rng_below(r, 10));
            put_mem(o, &c, 1);
        } else if (*p == '%') {
            put_uint(o, (uint64_t)rng_range(r, 1, 99));
        } else {
            const char *q = p;
            while (q[1] && q[1] != '#' && q[1] != '%')
                q++;
            put_mem(o, p, (size_t)(q - p + 1));
            p = q;
        }
    }
}

/* Appends <tag>text</tag> on its own line with `indent` spaces. */
static void put_elem(out *o, int indent, const char *tag, const char *text)
{
    static const char spaces[] = "            ";
    assert(indent < (int)sizeof spaces);
    put_mem(o, spaces, (size_t)indent);
    put_lit(o, "<");
    put_str(o, tag);
    put_lit(o, ">");
    put_str(o, text);
    put_lit(o, "</");
    put_str(o, tag);
    put_lit(o, ">\n");
}

/* ---- calendar ---- */

/* Returns the days since 1970-01-01 of a proleptic Gregorian date. */
static long days_from_civil(long y, unsigned m, unsigned d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long)doe - 719468;
}

/* Appends days-since-epoch z as "YYYY-MM-DD". */
static void put_date(out *o, long z)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = (long)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    unsigned d = doy - (153 * mp + 2) / 5 + 1;
    unsigned m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    put_pad(o, (unsigned)y, 4);
    put_lit(o, "-");
    put_pad(o, m, 2);
    put_lit(o, "-");
    put_pad(o, d, 2);
}

/* Appends seconds-since-epoch t as "YYYY-MM-DDThh:mm:ss". */
static void put_datetime(out *o, int64_t t)
{
    long days = (long)(t / 86400);
    unsigned sec = (unsigned)(t % 86400);
    put_date(o, days);
    put_lit(o, "T");
    put_pad(o, sec / 3600, 2);
    put_lit(o, ":");
    put_pad(o, sec / 60 % 60, 2);
    put_lit(o, ":");
    put_pad(o, sec % 60, 2);
}

/* ---- one record ---- */

typedef enum defect {
    D_NONE = 0,
    D_PRODUCT,     /* product not in ^(CARD|LOAN|AUTO|HELOC)$ */
    D_AMOUNT,      /* amount not a number */
    D_BIRTH_DATE,  /* 1985-02-30 */
    D_LAST_NAME,   /* last_name missing (required) */
    D_PHONE,       /* two numbers in one field: > 16 digits */
    D_COUNT
} defect;

typedef struct gen {
    uint64_t seed;
    long start_id;
    int64_t t0;    /* received time of the first record */
    long bd_lo;    /* birth dates: days-since-epoch range */
    long bd_hi;
    unsigned weight_sum;
} gen;

/* Returns a country drawn by weight. */
static const country_t *pick_country(const gen *g, rng *r)
{
    unsigned x = rng_below(r, g->weight_sum);
    for (size_t i = 0; i < NELEM(countries); i++) {
        if (x < countries[i].weight)
            return &countries[i];
        x -= countries[i].weight;
    }
    return &countries[0];
}

/* Returns one of n strings at random. */
static const char *pick(rng *r, const char *const *v, size_t n)
{
    return v[rng_below(r, (uint32_t)n)];
}

/* Writes one <address>; the random draws come from r only. */
static void put_address(out *o, rng *r, const country_t *c, const char *type)
{
    const city_t *city = &c->cities[rng_below(r, (uint32_t)c->ncities)];
    put_lit(o, "      <address type=\"");
    put_str(o, type);
    put_lit(o, "\">\n        <street>");
    put_tmpl(o, r, pick(r, c->streets, c->nstreets));
    put_lit(o, "</street>\n");
    put_elem(o, 8, "city", city->name);
    put_lit(o, "        <zip>");
    put_tmpl(o, r, city->zip);
    put_lit(o, "</zip>\n");
    put_elem(o, 8, "country", c->code);
    put_lit(o, "      </address>\n");
}

/* Writes the o-th original record (app_id start+o) with defect d. */
static void put_record(out *o, const gen *g, uint64_t ord, defect d)
{
    rng r;
    rng_seed(&r, g->seed, 1, ord);
    long app_id = g->start_id + (long)ord;
    const country_t *c = pick_country(g, &r);

    put_lit(o, "  <application app_id=\"");
    put_uint(o, (uint64_t)app_id);
    put_lit(o, "\" received=\"");
    put_datetime(o, g->t0 + (int64_t)ord * 13 + rng_below(&r, 13));
    put_lit(o, "\">\n");

    /* product and amount, each amount range fitting its product */
    unsigned pi = rng_below(&r, 100);
    pi = pi < 35 ? 0 : pi < 70 ? 1 : pi < 90 ? 2 : 3;
    uint64_t cents;
    switch (pi) {
    case 0: cents = (uint64_t)rng_range(&r, 5, 200) * 10000; break;
    case 1: cents = (uint64_t)rng_range(&r, 4, 200) * 25000; break;
    case 2: cents = (uint64_t)rng_range(&r, 500000, 8000000); break;
    default: cents = (uint64_t)rng_range(&r, 20, 500) * 100000; break;
    }
    put_elem(o, 4, "product", d == D_PRODUCT ? pick(&r, bad_products, NELEM(bad_products))
                                             : products[pi]);
    if (d == D_AMOUNT) {
        put_elem(o, 4, "amount", pick(&r, bad_amounts, NELEM(bad_amounts)));
    } else {
        put_lit(o, "    <amount>");
        put_money(o, cents);
        put_lit(o, "</amount>\n");
    }
    const char *channel = pick(&r, channels, NELEM(channels));
    put_elem(o, 4, "channel", channel);
    const city_t *bcity = &c->cities[rng_below(&r, (uint32_t)c->ncities)];
    put_lit(o, "    <branch>");
    put_str(o, c->code);
    put_lit(o, "-");
    put_str(o, strcmp(channel, "WEB") == 0 || strcmp(channel, "MOBILE") == 0 ? "WWW" : bcity->code);
    put_lit(o, "-");
    put_pad(o, rng_below(&r, 1000), 3);
    put_lit(o, "</branch>\n");
    put_elem(o, 4, "status", pick(&r, statuses, NELEM(statuses)));
    unsigned nn = rng_below(&r, 10);
    if (nn < 2) {
        put_lit(o, "    <notes/>\n");
    } else {
        put_lit(o, "    <notes>");
        put_str(o, pick(&r, notes, NELEM(notes)));
        if (nn >= 8) {
            put_lit(o, " ");
            put_str(o, pick(&r, notes, NELEM(notes)));
        }
        put_lit(o, "</notes>\n");
    }

    /* contacts: 1 (60 %), 2 (30 %) or 3 (10 %) */
    unsigned x = rng_below(&r, 10), ncon = x < 6 ? 1 : x < 9 ? 2 : 3;
    unsigned bad_con = rng_below(&r, ncon);
    rng home;                  /* the first contact's CURR address draws */
    const name_t *family = NULL;
    const country_t *home_c = c;
    for (unsigned n = 0; n < ncon; n++) {
        int spouse = n > 0 && rng_pct(&r, 50);
        const country_t *cc = spouse ? home_c : (n == 0 || rng_pct(&r, 80)) ? c : pick_country(g, &r);
        const name_t *first = &cc->first[rng_below(&r, (uint32_t)cc->nfirst)];
        const name_t *last = spouse ? family : &cc->last[rng_below(&r, (uint32_t)cc->nlast)];
        if (n == 0)
            family = last;
        unsigned lang = rng_below(&r, 100);

        put_lit(o, "    <contact con_id=\"");
        put_uint(o, (uint64_t)(3 * app_id - 2 + (long)n));
        put_lit(o, "\"");
        if (lang < 85) {
            put_lit(o, " lang=\"");
            put_str(o, lang < 70 ? cc->lang : "en");
            put_lit(o, "\"");
        }
        put_lit(o, ">\n");
        put_elem(o, 6, "first_name", first->text);
        if (!(d == D_LAST_NAME && n == bad_con))
            put_elem(o, 6, "last_name", last->text);
        put_lit(o, "      <birth_date>");
        long bd = rng_range(&r, g->bd_lo, g->bd_hi);
        if (d == D_BIRTH_DATE && n == bad_con)
            put_lit(o, "1985-02-30");
        else
            put_date(o, bd);
        put_lit(o, "</birth_date>\n      <phone>");
        put_tmpl(o, &r, pick(&r, cc->phones, cc->nphones));
        if (d == D_PHONE && n == bad_con) {
            put_lit(o, " / ");
            put_tmpl(o, &r, cc->phones[cc->nphones - 1]);
        }
        put_lit(o, "</phone>\n      <email>");
        put_str(o, first->ascii);
        put_lit(o, ".");
        put_str(o, last->ascii);
        if (rng_pct(&r, 40))
            put_uint(o, (uint64_t)rng_range(&r, 1, 99));
        put_lit(o, "@");
        put_str(o, pick(&r, cc->mails, cc->nmails));
        put_lit(o, "</email>\n      <income>");
        put_money(o, (uint64_t)rng_range(&r, 36, 360) * 50000 + (rng_pct(&r, 30) ? rng_below(&r, 100) : 0));
        put_lit(o, "</income>\n");
        put_elem(o, 6, "employer", pick(&r, cc->employers, cc->nemployers));

        /* the CURR address; a spouse shares the first contact's */
        rng a;
        if (spouse) {
            a = home;
        } else {
            rng_seed(&a, g->seed, 2, ord * 4 + n);
            if (n == 0) {
                home = a;
                home_c = cc;
            }
        }
        put_address(o, &a, spouse ? home_c : cc, "CURR");
        if (rng_pct(&r, 20))
            put_address(o, &r, cc, "PREV");
        put_lit(o, "    </contact>\n");
    }
    put_lit(o, "  </application>\n");
}

/* ---- the layout: which positions are defective or duplicates ---- */

enum { K_ORIGINAL = 0, K_INVALID, K_DUPLICATE };

/* Fills kind[0..size) for block `blk`: exactly round(pct*size/100) of each. */
static void layout_block(uint64_t seed, uint64_t blk, size_t size, double inv_pct,
                         double dup_pct, unsigned char *kind)
{
    static_assert(BLOCK <= 65535, "positions fit uint16_t");
    uint16_t perm[BLOCK];
    size_t ninv = (size_t)(inv_pct * (double)size / 100.0 + 0.5);
    size_t ndup = (size_t)(dup_pct * (double)size / 100.0 + 0.5);
    if (ninv > size)
        ninv = size;
    if (ndup > size - ninv)
        ndup = size - ninv;
    rng r;
    rng_seed(&r, seed, 3, blk);
    for (size_t i = 0; i < size; i++) {
        perm[i] = (uint16_t)i;
        kind[i] = K_ORIGINAL;
    }
    for (size_t t = 0; t < ninv + ndup; t++) {
        size_t j = t + rng_below(&r, (uint32_t)(size - t));
        uint16_t tmp = perm[t];
        perm[t] = perm[j];
        perm[j] = tmp;
        kind[perm[t]] = t < ninv ? K_INVALID : K_DUPLICATE;
    }
}

/* ---- command line ---- */

typedef struct opts {
    uint64_t records;
    uint64_t seed;
    double invalid;
    double duplicates;
    long start_id;
    int gzip;
    int verbose;
    const char *output;
} opts;

/* Prints the usage on f. */
static void usage(FILE *f)
{
    fputs("usage: gen-apps --records N [--seed S] [--invalid PCT] [--duplicates PCT]\n"
          "                [--start-id K] [--gzip] [-o FILE] [-v]\n"
          "Writes N <application> records (urn:example:apps, ~1 KB each) to stdout or FILE.\n"
          "Same arguments, same bytes.\n"
          "  --records N       records to write (positions, duplicates included)\n"
          "  --seed S          random seed (default 1)\n"
          "  --invalid PCT     share of records with one defect the mapper rejects (default 0)\n"
          "  --duplicates PCT  share of records repeating an earlier valid record (default 0)\n"
          "  --start-id K      first app_id (default 1); con_id = 3*app_id-2+n\n"
          "  --gzip            gzip the output (level 1)\n"
          "  -o FILE           write to FILE instead of stdout\n"
          "  -v                one line on stderr: records and bytes\n", f);
}

/* Returns 0 with *v parsed from a whole decimal number s, else -1. */
static int parse_u64(const char *s, uint64_t *v)
{
    char *end;
    if (!s || !*s || *s == '-')
        return -1;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *v = x;
    return 0;
}

/* Returns 0 with *v parsed from a percentage 0..100, else -1. */
static int parse_pct(const char *s, double *v)
{
    char *end;
    if (!s || !*s)
        return -1;
    errno = 0;
    double x = strtod(s, &end);
    if (errno || *end || !(x >= 0.0 && x <= 100.0))
        return -1;
    *v = x;
    return 0;
}

/* Returns 0 with the options in *op, or the exit status (64) after a message. */
static int parse_args(int argc, char **argv, opts *op)
{
    int have_records = 0;
    memset(op, 0, sizeof *op);
    op->seed = 1;
    op->start_id = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t u;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--records") == 0) {
            if (parse_u64(v, &op->records))
                goto bad_value;
            have_records = 1;
            i++;
        } else if (strcmp(a, "--seed") == 0) {
            if (parse_u64(v, &op->seed))
                goto bad_value;
            i++;
        } else if (strcmp(a, "--invalid") == 0) {
            if (parse_pct(v, &op->invalid))
                goto bad_value;
            i++;
        } else if (strcmp(a, "--duplicates") == 0) {
            if (parse_pct(v, &op->duplicates))
                goto bad_value;
            i++;
        } else if (strcmp(a, "--start-id") == 0) {
            if (parse_u64(v, &u) || u < 1 || u > (uint64_t)MAX_ID)
                goto bad_value;
            op->start_id = (long)u;
            i++;
        } else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) {
            if (!v)
                goto bad_value;
            op->output = v;
            i++;
        } else if (strcmp(a, "--gzip") == 0) {
            op->gzip = 1;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            op->verbose = 1;
        } else {
            fprintf(stderr, "gen-apps: unknown option %s\n", a);
            usage(stderr);
            return 64;
        }
        continue;
bad_value:
        fprintf(stderr, "gen-apps: %s needs a valid value%s%s\n", a, v ? ", not " : "",
                v ? v : "");
        return 64;
    }
    if (!have_records) {
        fputs("gen-apps: --records N is required\n", stderr);
        usage(stderr);
        return 64;
    }
    if (op->invalid + op->duplicates > 100.0) {
        fputs("gen-apps: --invalid plus --duplicates exceed 100\n", stderr);
        return 64;
    }
    if ((uint64_t)op->start_id + op->records > (uint64_t)MAX_ID + 1) {
        fprintf(stderr, "gen-apps: app_id would pass %ld (con_id must fit an int)\n", MAX_ID);
        return 64;
    }
    return 0;
}

/* ---- main ---- */

/* Returns 0 with o opened on op's target, else -1 (message printed). */
static int out_open(out *o, const opts *op)
{
    memset(o, 0, sizeof *o);
    o->name = op->output ? op->output : "stdout";
    o->fd = op->output ? open(op->output, O_WRONLY | O_CREAT | O_TRUNC, 0666) : STDOUT_FILENO;
    if (o->fd < 0) {
        fprintf(stderr, "gen-apps: cannot create %s: %s\n", op->output, strerror(errno));
        return -1;
    }
    if (op->gzip) {
        /* gzdopen writes a header without name or time: stable bytes */
        o->gz = gzdopen(o->fd, "wb1");
        if (!o->gz) {
            fprintf(stderr, "gen-apps: %s: cannot start gzip\n", o->name);
            return -1;
        }
        gzbuffer(o->gz, 1u << 18);
    }
    o->buf = malloc(OUT_CAP);
    if (!o->buf) {
        fputs("gen-apps: out of memory\n", stderr);
        return -1;
    }
    return 0;
}

/* Returns 0 after the last flush and close, else -1 (message printed). */
static int out_close(out *o)
{
    int rc = out_flush(o);
    if (o->gz) {
        int zrc = gzclose(o->gz);
        if (rc == 0 && zrc != Z_OK) {
            fprintf(stderr, "gen-apps: %s: gzip close failed (%d)\n", o->name, zrc);
            rc = -1;
        }
    } else if (o->fd != STDOUT_FILENO && close(o->fd) != 0 && rc == 0) {
        fprintf(stderr, "gen-apps: %s: %s\n", o->name, strerror(errno));
        rc = -1;
    }
    free(o->buf);
    return rc;
}

/* Returns a uniformly drawn earlier original without defect, or -1 if none. */
static int64_t pick_earlier(rng *r, const unsigned char *bad, uint64_t norig)
{
    if (norig == 0)
        return -1;
    for (int tries = 0; tries < 64; tries++) {
        uint64_t j = ((rng_next(r) >> 11) % norig);
        if (!(bad[j >> 3] & (1u << (j & 7))))
            return (int64_t)j;
    }
    for (uint64_t j = norig; j-- > 0;)   /* (almost) every earlier one is bad */
        if (!(bad[j >> 3] & (1u << (j & 7))))
            return (int64_t)j;
    return -1;
}

int main(int argc, char **argv)
{
    opts op;
    int rc = parse_args(argc, argv, &op);
    if (rc)
        return rc;

    gen g = {.seed = op.seed, .start_id = op.start_id};
    g.t0 = (int64_t)days_from_civil(2024, 1, 2) * 86400 + 8 * 3600;
    g.bd_lo = days_from_civil(1944, 1, 1);
    g.bd_hi = days_from_civil(2005, 12, 31);
    for (size_t i = 0; i < NELEM(countries); i++)
        g.weight_sum += countries[i].weight;

    out o;
    if (out_open(&o, &op))
        return 1;

    size_t bad_cap = 4096;
    unsigned char *bad = calloc(bad_cap, 1); /* bit per original: has a defect */
    if (!bad) {
        fputs("gen-apps: out of memory\n", stderr);
        return 1;
    }
    unsigned char kind[BLOCK];
    uint64_t norig = 0, ninvalid = 0, ndup = 0;
    rng dr;                               /* duplicate targets and defect kinds */
    rng_seed(&dr, op.seed, 4, 0);

    put_lit(&o, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<applications xmlns=\"urn:example:apps\">\n");
    for (uint64_t pos = 0; pos < op.records; pos++) {
        size_t k = (size_t)(pos % BLOCK);
        if (k == 0) {
            uint64_t left = op.records - pos;
            layout_block(op.seed, pos / BLOCK, left < BLOCK ? (size_t)left : BLOCK,
                         op.invalid, op.duplicates, kind);
        }
        int64_t dup = kind[k] == K_DUPLICATE ? pick_earlier(&dr, bad, norig) : -1;
        if (dup >= 0) {
            put_record(&o, &g, (uint64_t)dup, D_NONE);
            ndup++;
        } else {
            defect d = D_NONE;
            if (kind[k] == K_INVALID) {
                d = (defect)(1 + rng_below(&dr, D_COUNT - 1));
                ninvalid++;
            }
            if ((norig >> 3) >= bad_cap) {
                unsigned char *nb = realloc(bad, bad_cap * 2);
                if (!nb) {
                    fputs("gen-apps: out of memory\n", stderr);
                    return 1;
                }
                memset(nb + bad_cap, 0, bad_cap);
                bad = nb;
                bad_cap *= 2;
            }
            if (d != D_NONE)
                bad[norig >> 3] |= (unsigned char)(1u << (norig & 7));
            put_record(&o, &g, norig, d);
            norig++;
        }
        if (o.len >= OUT_FLUSH && out_flush(&o)) {
            out_close(&o);
            free(bad);
            return 1;
        }
    }
    put_lit(&o, "</applications>\n");
    free(bad);
    uint64_t bytes = o.total + o.len;
    if (out_close(&o))
        return 1;
    if (op.verbose)
        fprintf(stderr, "gen-apps: %" PRIu64 " records (%" PRIu64 " invalid, %" PRIu64
                " duplicates), %" PRIu64 " bytes, %.0f bytes/record%s\n",
                op.records, ninvalid, ndup, bytes,
                op.records ? (double)bytes / (double)op.records : 0.0,
                op.gzip ? " before gzip" : "");
    return 0;
}
