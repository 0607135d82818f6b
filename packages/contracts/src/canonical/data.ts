/**
 * Reference lists behind the canonical types (ISO 3166, ISO 4217, ISO 639-1, US states, Canadian
 * provinces). Country and time-zone names come from the runtime's ICU (Intl), so they are the
 * same strings the web shows.
 */

/** ISO 3166-1: alpha-2 and alpha-3, the 249 officially assigned codes. */
const COUNTRY_PAIRS =
  'AD:AND AE:ARE AF:AFG AG:ATG AI:AIA AL:ALB AM:ARM AO:AGO AQ:ATA AR:ARG AS:ASM AT:AUT AU:AUS AW:ABW AX:ALA AZ:AZE ' +
  'BA:BIH BB:BRB BD:BGD BE:BEL BF:BFA BG:BGR BH:BHR BI:BDI BJ:BEN BL:BLM BM:BMU BN:BRN BO:BOL BQ:BES BR:BRA BS:BHS BT:BTN BV:BVT BW:BWA BY:BLR BZ:BLZ ' +
  'CA:CAN CC:CCK CD:COD CF:CAF CG:COG CH:CHE CI:CIV CK:COK CL:CHL CM:CMR CN:CHN CO:COL CR:CRI CU:CUB CV:CPV CW:CUW CX:CXR CY:CYP CZ:CZE ' +
  'DE:DEU DJ:DJI DK:DNK DM:DMA DO:DOM DZ:DZA EC:ECU EE:EST EG:EGY EH:ESH ER:ERI ES:ESP ET:ETH FI:FIN FJ:FJI FK:FLK FM:FSM FO:FRO FR:FRA ' +
  'GA:GAB GB:GBR GD:GRD GE:GEO GF:GUF GG:GGY GH:GHA GI:GIB GL:GRL GM:GMB GN:GIN GP:GLP GQ:GNQ GR:GRC GS:SGS GT:GTM GU:GUM GW:GNB GY:GUY ' +
  'HK:HKG HM:HMD HN:HND HR:HRV HT:HTI HU:HUN ID:IDN IE:IRL IL:ISR IM:IMN IN:IND IO:IOT IQ:IRQ IR:IRN IS:ISL IT:ITA ' +
  'JE:JEY JM:JAM JO:JOR JP:JPN KE:KEN KG:KGZ KH:KHM KI:KIR KM:COM KN:KNA KP:PRK KR:KOR KW:KWT KY:CYM KZ:KAZ ' +
  'LA:LAO LB:LBN LC:LCA LI:LIE LK:LKA LR:LBR LS:LSO LT:LTU LU:LUX LV:LVA LY:LBY ' +
  'MA:MAR MC:MCO MD:MDA ME:MNE MF:MAF MG:MDG MH:MHL MK:MKD ML:MLI MM:MMR MN:MNG MO:MAC MP:MNP MQ:MTQ MR:MRT MS:MSR MT:MLT MU:MUS MV:MDV MW:MWI MX:MEX MY:MYS MZ:MOZ ' +
  'NA:NAM NC:NCL NE:NER NF:NFK NG:NGA NI:NIC NL:NLD NO:NOR NP:NPL NR:NRU NU:NIU NZ:NZL OM:OMN ' +
  'PA:PAN PE:PER PF:PYF PG:PNG PH:PHL PK:PAK PL:POL PM:SPM PN:PCN PR:PRI PS:PSE PT:PRT PW:PLW PY:PRY QA:QAT RE:REU RO:ROU RS:SRB RU:RUS RW:RWA ' +
  'SA:SAU SB:SLB SC:SYC SD:SDN SE:SWE SG:SGP SH:SHN SI:SVN SJ:SJM SK:SVK SL:SLE SM:SMR SN:SEN SO:SOM SR:SUR SS:SSD ST:STP SV:SLV SX:SXM SY:SYR SZ:SWZ ' +
  'TC:TCA TD:TCD TF:ATF TG:TGO TH:THA TJ:TJK TK:TKL TL:TLS TM:TKM TN:TUN TO:TON TR:TUR TT:TTO TV:TUV TW:TWN TZ:TZA ' +
  'UA:UKR UG:UGA UM:UMI US:USA UY:URY UZ:UZB VA:VAT VC:VCT VE:VEN VG:VGB VI:VIR VN:VNM VU:VUT WF:WLF WS:WSM YE:YEM YT:MYT ZA:ZAF ZM:ZMB ZW:ZWE';

export const COUNTRY_ALPHA2: readonly string[] = COUNTRY_PAIRS.split(' ').map((p) => p.slice(0, 2));
export const COUNTRY_ALPHA3: readonly string[] = COUNTRY_PAIRS.split(' ').map((p) => p.slice(3));
export const ALPHA3_TO_ALPHA2: Readonly<Record<string, string>> = Object.fromEntries(COUNTRY_PAIRS.split(' ').map((p) => [p.slice(3), p.slice(0, 2)]));

/** Names people write instead of the English short name (keys lower case). */
const COUNTRY_ALIASES: Record<string, string> = {
  usa: 'US',
  'u.s.': 'US',
  'u.s.a.': 'US',
  'united states of america': 'US',
  america: 'US',
  'the united states': 'US',
  uk: 'GB',
  'u.k.': 'GB',
  'great britain': 'GB',
  britain: 'GB',
  england: 'GB',
  scotland: 'GB',
  wales: 'GB',
  'northern ireland': 'GB',
  'united kingdom of great britain and northern ireland': 'GB',
  deutschland: 'DE',
  'federal republic of germany': 'DE',
  holland: 'NL',
  'the netherlands': 'NL',
  nederland: 'NL',
  'south korea': 'KR',
  'korea, republic of': 'KR',
  'republic of korea': 'KR',
  korea: 'KR',
  'north korea': 'KP',
  russia: 'RU',
  'russian federation': 'RU',
  'czech republic': 'CZ',
  czechia: 'CZ',
  'ivory coast': 'CI',
  "cote d'ivoire": 'CI',
  vatican: 'VA',
  'vatican city': 'VA',
  'holy see': 'VA',
  iran: 'IR',
  syria: 'SY',
  laos: 'LA',
  vietnam: 'VN',
  'viet nam': 'VN',
  bolivia: 'BO',
  venezuela: 'VE',
  tanzania: 'TZ',
  moldova: 'MD',
  macedonia: 'MK',
  'north macedonia': 'MK',
  taiwan: 'TW',
  brasil: 'BR',
  españa: 'ES',
  espana: 'ES',
  italia: 'IT',
  österreich: 'AT',
  oesterreich: 'AT',
  schweiz: 'CH',
  suisse: 'CH',
  svizzera: 'CH',
  méxico: 'MX',
  mexico: 'MX',
  uae: 'AE',
  'u.a.e.': 'AE',
  emirates: 'AE',
  burma: 'MM',
  swaziland: 'SZ',
  'cape verde': 'CV',
  'east timor': 'TL',
  palestine: 'PS',
  'hong kong sar': 'HK',
  macau: 'MO',
  'congo-kinshasa': 'CD',
  'congo-brazzaville': 'CG',
  'dr congo': 'CD',
  drc: 'CD',
  'democratic republic of the congo': 'CD',
  'republic of the congo': 'CG',
  turkey: 'TR',
  türkiye: 'TR',
  'the bahamas': 'BS',
  'the gambia': 'GM',
  'the philippines': 'PH',
  micronesia: 'FM',
  'st. lucia': 'LC',
  'saint lucia': 'LC',
};

/** Lower-case country names, aliases and alpha-3 codes → alpha-2. */
export const COUNTRY_LOOKUP: Readonly<Record<string, string>> = (() => {
  const m: Record<string, string> = {};
  const names = new Intl.DisplayNames(['en'], { type: 'region' });
  for (const a2 of COUNTRY_ALPHA2) {
    const n = names.of(a2);
    if (n && n !== a2) {
      m[n.toLowerCase()] = a2;
      m[n.toLowerCase().replace(/’/g, "'")] = a2;
      // "Bosnia & Herzegovina" → also "bosnia and herzegovina"
      if (n.includes('&')) m[n.toLowerCase().replace(/&/g, 'and')] = a2;
    }
  }
  for (const [a3, a2] of Object.entries(ALPHA3_TO_ALPHA2)) m[a3.toLowerCase()] = a2;
  for (const [k, v] of Object.entries(COUNTRY_ALIASES)) m[k] = v;
  return m;
})();

/** ISO 4217 alphabetic codes, current ones plus recently withdrawn ones that old data still carries. */
export const CURRENCIES: readonly string[] = (
  'AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN BWP BYN BZD ' +
  'CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP ' +
  'GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HRK HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY ' +
  'KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN ' +
  'NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL ' +
  'THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST ' +
  'XAF XAG XAU XBA XBB XBC XBD XCD XCG XDR XOF XPD XPF XPT XSU XTS XUA XXX YER ZAR ZMW ZWG ZWL'
).split(' ');

/** ISO 639-1 two-letter language codes. */
export const LANGUAGES: readonly string[] = (
  'aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv cy da de dv dz ee el en eo es et eu ' +
  'fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw ky ' +
  'la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw ' +
  'sa sc sd se sg si sk sl sm sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi yo za zh zu'
).split(' ');

const US_STATE_LIST =
  'AL:Alabama AK:Alaska AZ:Arizona AR:Arkansas CA:California CO:Colorado CT:Connecticut DE:Delaware FL:Florida GA:Georgia HI:Hawaii ID:Idaho ' +
  'IL:Illinois IN:Indiana IA:Iowa KS:Kansas KY:Kentucky LA:Louisiana ME:Maine MD:Maryland MA:Massachusetts MI:Michigan MN:Minnesota ' +
  'MS:Mississippi MO:Missouri MT:Montana NE:Nebraska NV:Nevada NH:New_Hampshire NJ:New_Jersey NM:New_Mexico NY:New_York NC:North_Carolina ' +
  'ND:North_Dakota OH:Ohio OK:Oklahoma OR:Oregon PA:Pennsylvania RI:Rhode_Island SC:South_Carolina SD:South_Dakota TN:Tennessee TX:Texas ' +
  'UT:Utah VT:Vermont VA:Virginia WA:Washington WV:West_Virginia WI:Wisconsin WY:Wyoming DC:District_of_Columbia ' +
  'PR:Puerto_Rico GU:Guam VI:U.S._Virgin_Islands AS:American_Samoa MP:Northern_Mariana_Islands';
const CA_PROVINCE_LIST =
  'AB:Alberta BC:British_Columbia MB:Manitoba NB:New_Brunswick NL:Newfoundland_and_Labrador NS:Nova_Scotia NT:Northwest_Territories ' +
  'NU:Nunavut ON:Ontario PE:Prince_Edward_Island QC:Quebec SK:Saskatchewan YT:Yukon';

const codeNameLookup = (list: string, extra: Record<string, string>) => {
  const m: Record<string, string> = {};
  for (const p of list.split(' ')) {
    const [code, name] = [p.slice(0, 2), p.slice(3).replace(/_/g, ' ')];
    m[code.toLowerCase()] = code;
    m[name.toLowerCase()] = code;
  }
  return { ...m, ...extra };
};
/** Lower-case codes and names → the two-letter USPS code. */
export const US_STATE_LOOKUP: Readonly<Record<string, string>> = codeNameLookup(US_STATE_LIST, {
  'washington dc': 'DC',
  'washington, d.c.': 'DC',
  'd.c.': 'DC',
});
/** Lower-case codes and names → the two-letter Canada Post code. */
export const CA_PROVINCE_LOOKUP: Readonly<Record<string, string>> = codeNameLookup(CA_PROVINCE_LIST, {
  québec: 'QC',
  newfoundland: 'NL',
  'yukon territory': 'YT',
  pei: 'PE',
});

/** IANA time zones (the runtime's ICU list plus UTC aliases): lower-case name → canonical spelling. */
export const TIME_ZONE_LOOKUP: Readonly<Record<string, string>> = (() => {
  const m: Record<string, string> = {};
  for (const z of [...Intl.supportedValuesOf('timeZone'), 'UTC', 'Etc/UTC', 'Etc/GMT']) m[z.toLowerCase()] = z;
  return m;
})();
