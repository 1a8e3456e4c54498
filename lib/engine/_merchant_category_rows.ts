// Generated from Stripe's merchant category list (295 categories, the
// `spending_controls.blocked_categories` enum of stripe-node 22.5.0, API
// 2026-07-29.dahlia; codes from https://docs.stripe.com/issuing/categories).
// `miscellaneous` has no single MCC. `as const`, so the category names form a
// type: stripe-node 23 widens its enum with any string, which would let a typo
// in a policy's configuration through `deno check`.

/**
 * Every Stripe Issuing merchant category: `category` as in
 * `merchant_data.category`, `mcc` (ISO 18245) as in `merchant_data.category_code`,
 * and Stripe's label.
 */
export const MERCHANT_CATEGORY_ROWS = [
  {
    category: "ac_refrigeration_repair",
    mcc: "7623",
    description: "A/C, Refrigeration Repair",
  },
  {
    category: "accounting_bookkeeping_services",
    mcc: "8931",
    description: "Accounting/Bookkeeping Services",
  },
  {
    category: "advertising_services",
    mcc: "7311",
    description: "Advertising Services",
  },
  {
    category: "agricultural_cooperative",
    mcc: "0763",
    description: "Agricultural Cooperative",
  },
  {
    category: "airlines_air_carriers",
    mcc: "4511",
    description: "Airlines, Air Carriers",
  },
  {
    category: "airports_flying_fields",
    mcc: "4582",
    description: "Airports, Flying Fields",
  },
  {
    category: "ambulance_services",
    mcc: "4119",
    description: "Ambulance Services",
  },
  {
    category: "amusement_parks_carnivals",
    mcc: "7996",
    description: "Amusement Parks/Carnivals",
  },
  {
    category: "antique_reproductions",
    mcc: "5937",
    description: "Antique Reproductions",
  },
  { category: "antique_shops", mcc: "5932", description: "Antique Shops" },
  { category: "aquariums", mcc: "7998", description: "Aquariums" },
  {
    category: "architectural_surveying_services",
    mcc: "8911",
    description: "Architectural/Surveying Services",
  },
  {
    category: "art_dealers_and_galleries",
    mcc: "5971",
    description: "Art Dealers and Galleries",
  },
  {
    category: "artists_supply_and_craft_shops",
    mcc: "5970",
    description: "Artists Supply and Craft Shops",
  },
  {
    category: "auto_and_home_supply_stores",
    mcc: "5531",
    description: "Auto and Home Supply Stores",
  },
  {
    category: "auto_body_repair_shops",
    mcc: "7531",
    description: "Auto Body Repair Shops",
  },
  {
    category: "auto_paint_shops",
    mcc: "7535",
    description: "Auto Paint Shops",
  },
  {
    category: "auto_service_shops",
    mcc: "7538",
    description: "Auto Service Shops",
  },
  {
    category: "automated_cash_disburse",
    mcc: "6011",
    description: "Automated Cash Disburse",
  },
  {
    category: "automated_fuel_dispensers",
    mcc: "5542",
    description: "Automated Fuel Dispensers",
  },
  {
    category: "automobile_associations",
    mcc: "8675",
    description: "Automobile Associations",
  },
  {
    category: "automotive_parts_and_accessories_stores",
    mcc: "5533",
    description: "Automotive Parts and Accessories Stores",
  },
  {
    category: "automotive_tire_stores",
    mcc: "5532",
    description: "Automotive Tire Stores",
  },
  {
    category: "bail_and_bond_payments",
    mcc: "9223",
    description:
      "Bail and Bond Payments (payment to the surety for the bond, not the actual bond paid to the government agency)",
  },
  { category: "bakeries", mcc: "5462", description: "Bakeries" },
  {
    category: "bands_orchestras",
    mcc: "7929",
    description: "Bands, Orchestras",
  },
  {
    category: "barber_and_beauty_shops",
    mcc: "7230",
    description: "Barber and Beauty Shops",
  },
  {
    category: "betting_casino_gambling",
    mcc: "7995",
    description: "Betting/Casino Gambling",
  },
  { category: "bicycle_shops", mcc: "5940", description: "Bicycle Shops" },
  {
    category: "billiard_pool_establishments",
    mcc: "7932",
    description: "Billiard/Pool Establishments",
  },
  { category: "boat_dealers", mcc: "5551", description: "Boat Dealers" },
  {
    category: "boat_rentals_and_leases",
    mcc: "4457",
    description: "Boat Rentals and Leases",
  },
  { category: "book_stores", mcc: "5942", description: "Book Stores" },
  {
    category: "books_periodicals_and_newspapers",
    mcc: "5192",
    description: "Books, Periodicals, and Newspapers",
  },
  { category: "bowling_alleys", mcc: "7933", description: "Bowling Alleys" },
  { category: "bus_lines", mcc: "4131", description: "Bus Lines" },
  {
    category: "business_secretarial_schools",
    mcc: "8244",
    description: "Business/Secretarial Schools",
  },
  {
    category: "buying_shopping_services",
    mcc: "7278",
    description: "Buying/Shopping Services",
  },
  {
    category: "cable_satellite_and_other_pay_television_and_radio",
    mcc: "4899",
    description: "Cable, Satellite, and Other Pay Television and Radio",
  },
  {
    category: "camera_and_photographic_supply_stores",
    mcc: "5946",
    description: "Camera and Photographic Supply Stores",
  },
  {
    category: "candy_nut_and_confectionery_stores",
    mcc: "5441",
    description: "Candy, Nut, and Confectionery Stores",
  },
  {
    category: "car_and_truck_dealers_new_used",
    mcc: "5511",
    description: "Car and Truck Dealers (New & Used) Sales, Service, Repairs Parts and Leasing",
  },
  {
    category: "car_and_truck_dealers_used_only",
    mcc: "5521",
    description: "Car and Truck Dealers (Used Only) Sales, Service, Repairs Parts and Leasing",
  },
  {
    category: "car_rental_agencies",
    mcc: "7512",
    description: "Car Rental Agencies",
  },
  { category: "car_washes", mcc: "7542", description: "Car Washes" },
  {
    category: "carpentry_services",
    mcc: "1750",
    description: "Carpentry Services",
  },
  {
    category: "carpet_upholstery_cleaning",
    mcc: "7217",
    description: "Carpet/Upholstery Cleaning",
  },
  { category: "caterers", mcc: "5811", description: "Caterers" },
  {
    category: "charitable_and_social_service_organizations_fundraising",
    mcc: "8398",
    description: "Charitable and Social Service Organizations - Fundraising",
  },
  {
    category: "chemicals_and_allied_products",
    mcc: "5169",
    description: "Chemicals and Allied Products (Not Elsewhere Classified)",
  },
  {
    category: "child_care_services",
    mcc: "8351",
    description: "Child Care Services",
  },
  {
    category: "childrens_and_infants_wear_stores",
    mcc: "5641",
    description: "Childrens and Infants Wear Stores",
  },
  {
    category: "chiropodists_podiatrists",
    mcc: "8049",
    description: "Chiropodists, Podiatrists",
  },
  { category: "chiropractors", mcc: "8041", description: "Chiropractors" },
  {
    category: "cigar_stores_and_stands",
    mcc: "5993",
    description: "Cigar Stores and Stands",
  },
  {
    category: "civic_social_fraternal_associations",
    mcc: "8641",
    description: "Civic, Social, Fraternal Associations",
  },
  {
    category: "cleaning_and_maintenance",
    mcc: "7349",
    description: "Cleaning and Maintenance",
  },
  { category: "clothing_rental", mcc: "7296", description: "Clothing Rental" },
  {
    category: "colleges_universities",
    mcc: "8220",
    description: "Colleges, Universities",
  },
  {
    category: "commercial_equipment",
    mcc: "5046",
    description: "Commercial Equipment (Not Elsewhere Classified)",
  },
  {
    category: "commercial_footwear",
    mcc: "5139",
    description: "Commercial Footwear",
  },
  {
    category: "commercial_photography_art_and_graphics",
    mcc: "7333",
    description: "Commercial Photography, Art and Graphics",
  },
  {
    category: "commuter_transport_and_ferries",
    mcc: "4111",
    description: "Commuter Transport, Ferries",
  },
  {
    category: "computer_network_services",
    mcc: "4816",
    description: "Computer Network Services",
  },
  {
    category: "computer_programming",
    mcc: "7372",
    description: "Computer Programming",
  },
  { category: "computer_repair", mcc: "7379", description: "Computer Repair" },
  {
    category: "computer_software_stores",
    mcc: "5734",
    description: "Computer Software Stores",
  },
  {
    category: "computers_peripherals_and_software",
    mcc: "5045",
    description: "Computers, Peripherals, and Software",
  },
  {
    category: "concrete_work_services",
    mcc: "1771",
    description: "Concrete Work Services",
  },
  {
    category: "construction_materials",
    mcc: "5039",
    description: "Construction Materials (Not Elsewhere Classified)",
  },
  {
    category: "consulting_public_relations",
    mcc: "7392",
    description: "Consulting, Public Relations",
  },
  {
    category: "correspondence_schools",
    mcc: "8241",
    description: "Correspondence Schools",
  },
  { category: "cosmetic_stores", mcc: "5977", description: "Cosmetic Stores" },
  {
    category: "counseling_services",
    mcc: "7277",
    description: "Counseling Services",
  },
  { category: "country_clubs", mcc: "7997", description: "Country Clubs" },
  {
    category: "courier_services",
    mcc: "4215",
    description: "Courier Services",
  },
  {
    category: "court_costs",
    mcc: "9211",
    description: "Court Costs, Including Alimony and Child Support - Courts of Law",
  },
  {
    category: "credit_reporting_agencies",
    mcc: "7321",
    description: "Credit Reporting Agencies",
  },
  { category: "cruise_lines", mcc: "4411", description: "Cruise Lines" },
  {
    category: "dairy_products_stores",
    mcc: "5451",
    description: "Dairy Products Stores",
  },
  {
    category: "dance_hall_studios_schools",
    mcc: "7911",
    description: "Dance Hall, Studios, Schools",
  },
  {
    category: "dating_escort_services",
    mcc: "7273",
    description: "Dating/Escort Services",
  },
  {
    category: "dentists_orthodontists",
    mcc: "8021",
    description: "Dentists, Orthodontists",
  },
  {
    category: "department_stores",
    mcc: "5311",
    description: "Department Stores",
  },
  {
    category: "detective_agencies",
    mcc: "7393",
    description: "Detective Agencies",
  },
  {
    category: "digital_goods_applications",
    mcc: "5817",
    description: "Digital Goods \u2013 Applications (Excludes Games)",
  },
  {
    category: "digital_goods_games",
    mcc: "5816",
    description: "Digital Goods \u2013 Games",
  },
  {
    category: "digital_goods_large_volume",
    mcc: "5818",
    description: "Digital Goods \u2013 Large Digital Goods Merchant",
  },
  {
    category: "digital_goods_media",
    mcc: "5815",
    description: "Digital Goods Media \u2013 Books, Movies, Music",
  },
  {
    category: "direct_marketing_catalog_merchant",
    mcc: "5964",
    description: "Direct Marketing - Catalog Merchant",
  },
  {
    category: "direct_marketing_combination_catalog_and_retail_merchant",
    mcc: "5965",
    description: "Direct Marketing - Combination Catalog and Retail Merchant",
  },
  {
    category: "direct_marketing_inbound_telemarketing",
    mcc: "5967",
    description: "Direct Marketing - Inbound Telemarketing",
  },
  {
    category: "direct_marketing_insurance_services",
    mcc: "5960",
    description: "Direct Marketing - Insurance Services",
  },
  {
    category: "direct_marketing_other",
    mcc: "5969",
    description: "Direct Marketing - Other",
  },
  {
    category: "direct_marketing_outbound_telemarketing",
    mcc: "5966",
    description: "Direct Marketing - Outbound Telemarketing",
  },
  {
    category: "direct_marketing_subscription",
    mcc: "5968",
    description: "Direct Marketing - Subscription",
  },
  {
    category: "direct_marketing_travel",
    mcc: "5962",
    description: "Direct Marketing - Travel",
  },
  { category: "discount_stores", mcc: "5310", description: "Discount Stores" },
  { category: "doctors", mcc: "8011", description: "Doctors" },
  {
    category: "door_to_door_sales",
    mcc: "5963",
    description: "Door-To-Door Sales",
  },
  {
    category: "drapery_window_covering_and_upholstery_stores",
    mcc: "5714",
    description: "Drapery, Window Covering, and Upholstery Stores",
  },
  { category: "drinking_places", mcc: "5813", description: "Drinking Places" },
  {
    category: "drug_stores_and_pharmacies",
    mcc: "5912",
    description: "Drug Stores and Pharmacies",
  },
  {
    category: "drugs_drug_proprietaries_and_druggist_sundries",
    mcc: "5122",
    description: "Drugs, Drug Proprietaries, and Druggist Sundries",
  },
  { category: "dry_cleaners", mcc: "7216", description: "Dry Cleaners" },
  {
    category: "durable_goods",
    mcc: "5099",
    description: "Durable Goods (Not Elsewhere Classified)",
  },
  {
    category: "duty_free_stores",
    mcc: "5309",
    description: "Duty Free Stores",
  },
  {
    category: "eating_places_restaurants",
    mcc: "5812",
    description: "Eating Places, Restaurants",
  },
  {
    category: "educational_services",
    mcc: "8299",
    description: "Educational Services",
  },
  {
    category: "electric_razor_stores",
    mcc: "5997",
    description: "Electric Razor Stores",
  },
  {
    category: "electric_vehicle_charging",
    mcc: "5552",
    description: "Electric Vehicle Charging",
  },
  {
    category: "electrical_parts_and_equipment",
    mcc: "5065",
    description: "Electrical Parts and Equipment",
  },
  {
    category: "electrical_services",
    mcc: "1731",
    description: "Electrical Services",
  },
  {
    category: "electronics_repair_shops",
    mcc: "7622",
    description: "Electronics Repair Shops",
  },
  {
    category: "electronics_stores",
    mcc: "5732",
    description: "Electronics Stores",
  },
  {
    category: "elementary_secondary_schools",
    mcc: "8211",
    description: "Elementary, Secondary Schools",
  },
  {
    category: "emergency_services_gcas_visa_use_only",
    mcc: "9702",
    description: "Emergency Services (GCAS) (Visa use only)",
  },
  {
    category: "employment_temp_agencies",
    mcc: "7361",
    description: "Employment/Temp Agencies",
  },
  {
    category: "equipment_rental",
    mcc: "7394",
    description: "Equipment Rental",
  },
  {
    category: "exterminating_services",
    mcc: "7342",
    description: "Exterminating Services",
  },
  {
    category: "family_clothing_stores",
    mcc: "5651",
    description: "Family Clothing Stores",
  },
  {
    category: "fast_food_restaurants",
    mcc: "5814",
    description: "Fast Food Restaurants",
  },
  {
    category: "financial_institutions",
    mcc: "6012",
    description: "Financial Institutions",
  },
  {
    category: "fines_government_administrative_entities",
    mcc: "9222",
    description: "Fines - Government Administrative Entities",
  },
  {
    category: "fireplace_fireplace_screens_and_accessories_stores",
    mcc: "5718",
    description: "Fireplace, Fireplace Screens, and Accessories Stores",
  },
  {
    category: "floor_covering_stores",
    mcc: "5713",
    description: "Floor Covering Stores",
  },
  { category: "florists", mcc: "5992", description: "Florists" },
  {
    category: "florists_supplies_nursery_stock_and_flowers",
    mcc: "5193",
    description: "Florists Supplies, Nursery Stock, and Flowers",
  },
  {
    category: "freezer_and_locker_meat_provisioners",
    mcc: "5422",
    description: "Freezer and Locker Meat Provisioners",
  },
  {
    category: "fuel_dealers_non_automotive",
    mcc: "5983",
    description: "Fuel Dealers (Non Automotive)",
  },
  {
    category: "funeral_services_crematories",
    mcc: "7261",
    description: "Funeral Services, Crematories",
  },
  {
    category: "furniture_home_furnishings_and_equipment_stores_except_appliances",
    mcc: "5712",
    description: "Furniture, Home Furnishings, and Equipment Stores, Except Appliances",
  },
  {
    category: "furniture_repair_refinishing",
    mcc: "7641",
    description: "Furniture Repair, Refinishing",
  },
  {
    category: "furriers_and_fur_shops",
    mcc: "5681",
    description: "Furriers and Fur Shops",
  },
  {
    category: "general_services",
    mcc: "1520",
    description: "General Services",
  },
  {
    category: "gift_card_novelty_and_souvenir_shops",
    mcc: "5947",
    description: "Gift, Card, Novelty, and Souvenir Shops",
  },
  {
    category: "glass_paint_and_wallpaper_stores",
    mcc: "5231",
    description: "Glass, Paint, and Wallpaper Stores",
  },
  {
    category: "glassware_crystal_stores",
    mcc: "5950",
    description: "Glassware, Crystal Stores",
  },
  {
    category: "golf_courses_public",
    mcc: "7992",
    description: "Golf Courses - Public",
  },
  {
    category: "government_licensed_horse_dog_racing_us_region_only",
    mcc: "7802",
    description: "Government-Licensed Horse/Dog Racing (U.S. Region only)",
  },
  {
    category: "government_licensed_online_casions_online_gambling_us_region_only",
    mcc: "7801",
    description: "Government Licensed On-Line Casinos (On-Line Gambling) (U.S. Region only)",
  },
  {
    category: "government_owned_lotteries_non_us_region",
    mcc: "9406",
    description: "Government-Owned Lotteries (Non-U.S. region)",
  },
  {
    category: "government_owned_lotteries_us_region_only",
    mcc: "7800",
    description: "Government-Owned Lotteries (U.S. Region only)",
  },
  {
    category: "government_services",
    mcc: "9399",
    description: "Government Services (Not Elsewhere Classified)",
  },
  {
    category: "grocery_stores_supermarkets",
    mcc: "5411",
    description: "Grocery Stores, Supermarkets",
  },
  {
    category: "hardware_equipment_and_supplies",
    mcc: "5072",
    description: "Hardware, Equipment, and Supplies",
  },
  { category: "hardware_stores", mcc: "5251", description: "Hardware Stores" },
  {
    category: "health_and_beauty_spas",
    mcc: "7298",
    description: "Health and Beauty Spas",
  },
  {
    category: "hearing_aids_sales_and_supplies",
    mcc: "5975",
    description: "Hearing Aids Sales and Supplies",
  },
  {
    category: "heating_plumbing_a_c",
    mcc: "1711",
    description: "Heating, Plumbing, A/C",
  },
  {
    category: "hobby_toy_and_game_shops",
    mcc: "5945",
    description: "Hobby, Toy, and Game Shops",
  },
  {
    category: "home_supply_warehouse_stores",
    mcc: "5200",
    description: "Home Supply Warehouse Stores",
  },
  { category: "hospitals", mcc: "8062", description: "Hospitals" },
  {
    category: "hotels_motels_and_resorts",
    mcc: "7011",
    description: "Hotels, Motels, and Resorts",
  },
  {
    category: "household_appliance_stores",
    mcc: "5722",
    description: "Household Appliance Stores",
  },
  {
    category: "industrial_supplies",
    mcc: "5085",
    description: "Industrial Supplies (Not Elsewhere Classified)",
  },
  {
    category: "information_retrieval_services",
    mcc: "7375",
    description: "Information Retrieval Services",
  },
  {
    category: "insurance_default",
    mcc: "6399",
    description: "Insurance - Default",
  },
  {
    category: "insurance_underwriting_premiums",
    mcc: "6300",
    description: "Insurance Underwriting, Premiums",
  },
  {
    category: "intra_company_purchases",
    mcc: "9950",
    description: "Intra-Company Purchases",
  },
  {
    category: "jewelry_stores_watches_clocks_and_silverware_stores",
    mcc: "5944",
    description: "Jewelry Stores, Watches, Clocks, and Silverware Stores",
  },
  {
    category: "landscaping_services",
    mcc: "0780",
    description: "Landscaping Services",
  },
  { category: "laundries", mcc: "7211", description: "Laundries" },
  {
    category: "laundry_cleaning_services",
    mcc: "7210",
    description: "Laundry, Cleaning Services",
  },
  {
    category: "legal_services_attorneys",
    mcc: "8111",
    description: "Legal Services, Attorneys",
  },
  {
    category: "luggage_and_leather_goods_stores",
    mcc: "5948",
    description: "Luggage and Leather Goods Stores",
  },
  {
    category: "lumber_building_materials_stores",
    mcc: "5211",
    description: "Lumber, Building Materials Stores",
  },
  {
    category: "manual_cash_disburse",
    mcc: "6010",
    description: "Manual Cash Disburse",
  },
  {
    category: "marinas_service_and_supplies",
    mcc: "4468",
    description: "Marinas, Service and Supplies",
  },
  { category: "marketplaces", mcc: "5262", description: "Marketplaces" },
  {
    category: "masonry_stonework_and_plaster",
    mcc: "1740",
    description: "Masonry, Stonework, and Plaster",
  },
  { category: "massage_parlors", mcc: "7297", description: "Massage Parlors" },
  {
    category: "medical_and_dental_labs",
    mcc: "8071",
    description: "Medical and Dental Labs",
  },
  {
    category: "medical_dental_ophthalmic_and_hospital_equipment_and_supplies",
    mcc: "5047",
    description: "Medical, Dental, Ophthalmic, and Hospital Equipment and Supplies",
  },
  {
    category: "medical_services",
    mcc: "8099",
    description: "Medical Services",
  },
  {
    category: "membership_organizations",
    mcc: "8699",
    description: "Membership Organizations",
  },
  {
    category: "mens_and_boys_clothing_and_accessories_stores",
    mcc: "5611",
    description: "Mens and Boys Clothing and Accessories Stores",
  },
  {
    category: "mens_womens_clothing_stores",
    mcc: "5691",
    description: "Mens, Womens Clothing Stores",
  },
  {
    category: "metal_service_centers",
    mcc: "5051",
    description: "Metal Service Centers",
  },
  {
    category: "miscellaneous",
    mcc: null,
    description: "Miscellaneous (catch-all: businesses that do not fit a specific category)",
  },
  {
    category: "miscellaneous_apparel_and_accessory_shops",
    mcc: "5699",
    description: "Miscellaneous Apparel and Accessory Shops",
  },
  {
    category: "miscellaneous_auto_dealers",
    mcc: "5599",
    description: "Miscellaneous Auto Dealers",
  },
  {
    category: "miscellaneous_business_services",
    mcc: "7399",
    description: "Miscellaneous Business Services",
  },
  {
    category: "miscellaneous_food_stores",
    mcc: "5499",
    description: "Miscellaneous Food Stores - Convenience Stores and Specialty Markets",
  },
  {
    category: "miscellaneous_general_merchandise",
    mcc: "5399",
    description: "Miscellaneous General Merchandise",
  },
  {
    category: "miscellaneous_general_services",
    mcc: "7299",
    description: "Miscellaneous General Services",
  },
  {
    category: "miscellaneous_home_furnishing_specialty_stores",
    mcc: "5719",
    description: "Miscellaneous Home Furnishing Specialty Stores",
  },
  {
    category: "miscellaneous_publishing_and_printing",
    mcc: "2741",
    description: "Miscellaneous Publishing and Printing",
  },
  {
    category: "miscellaneous_recreation_services",
    mcc: "7999",
    description: "Miscellaneous Recreation Services",
  },
  {
    category: "miscellaneous_repair_shops",
    mcc: "7699",
    description: "Miscellaneous Repair Shops",
  },
  {
    category: "miscellaneous_specialty_retail",
    mcc: "5999",
    description: "Miscellaneous Specialty Retail",
  },
  {
    category: "mobile_home_dealers",
    mcc: "5271",
    description: "Mobile Home Dealers",
  },
  {
    category: "motion_picture_theaters",
    mcc: "7832",
    description: "Motion Picture Theaters",
  },
  {
    category: "motor_freight_carriers_and_trucking",
    mcc: "4214",
    description:
      "Motor Freight Carriers and Trucking - Local and Long Distance, Moving and Storage Companies, and Local Delivery Services",
  },
  {
    category: "motor_homes_dealers",
    mcc: "5592",
    description: "Motor Homes Dealers",
  },
  {
    category: "motor_vehicle_supplies_and_new_parts",
    mcc: "5013",
    description: "Motor Vehicle Supplies and New Parts",
  },
  {
    category: "motorcycle_shops_and_dealers",
    mcc: "5571",
    description: "Motorcycle Shops and Dealers",
  },
  {
    category: "motorcycle_shops_dealers",
    mcc: "5561",
    description: "Motorcycle Shops, Dealers",
  },
  {
    category: "music_stores_musical_instruments_pianos_and_sheet_music",
    mcc: "5733",
    description: "Music Stores-Musical Instruments, Pianos, and Sheet Music",
  },
  {
    category: "news_dealers_and_newsstands",
    mcc: "5994",
    description: "News Dealers and Newsstands",
  },
  {
    category: "non_fi_money_orders",
    mcc: "6051",
    description: "Non-FI, Money Orders",
  },
  {
    category: "non_fi_stored_value_card_purchase_load",
    mcc: "6540",
    description: "Non-FI, Stored Value Card Purchase/Load",
  },
  {
    category: "nondurable_goods",
    mcc: "5199",
    description: "Nondurable Goods (Not Elsewhere Classified)",
  },
  {
    category: "nurseries_lawn_and_garden_supply_stores",
    mcc: "5261",
    description: "Nurseries, Lawn and Garden Supply Stores",
  },
  {
    category: "nursing_personal_care",
    mcc: "8050",
    description: "Nursing/Personal Care",
  },
  {
    category: "office_and_commercial_furniture",
    mcc: "5021",
    description: "Office and Commercial Furniture",
  },
  {
    category: "opticians_eyeglasses",
    mcc: "8043",
    description: "Opticians, Eyeglasses",
  },
  {
    category: "optometrists_ophthalmologist",
    mcc: "8042",
    description: "Optometrists, Ophthalmologist",
  },
  {
    category: "orthopedic_goods_prosthetic_devices",
    mcc: "5976",
    description: "Orthopedic Goods - Prosthetic Devices",
  },
  { category: "osteopaths", mcc: "8031", description: "Osteopaths" },
  {
    category: "package_stores_beer_wine_and_liquor",
    mcc: "5921",
    description: "Package Stores-Beer, Wine, and Liquor",
  },
  {
    category: "paints_varnishes_and_supplies",
    mcc: "5198",
    description: "Paints, Varnishes, and Supplies",
  },
  {
    category: "parking_lots_garages",
    mcc: "7523",
    description: "Parking Lots, Garages",
  },
  {
    category: "passenger_railways",
    mcc: "4112",
    description: "Passenger Railways",
  },
  { category: "pawn_shops", mcc: "5933", description: "Pawn Shops" },
  {
    category: "pet_shops_pet_food_and_supplies",
    mcc: "5995",
    description: "Pet Shops, Pet Food, and Supplies",
  },
  {
    category: "petroleum_and_petroleum_products",
    mcc: "5172",
    description: "Petroleum and Petroleum Products",
  },
  {
    category: "photo_developing",
    mcc: "7395",
    description: "Photo Developing",
  },
  {
    category: "photographic_photocopy_microfilm_equipment_and_supplies",
    mcc: "5044",
    description: "Photographic, Photocopy, Microfilm Equipment, and Supplies",
  },
  {
    category: "photographic_studios",
    mcc: "7221",
    description: "Photographic Studios",
  },
  {
    category: "picture_video_production",
    mcc: "7829",
    description: "Picture/Video Production",
  },
  {
    category: "piece_goods_notions_and_other_dry_goods",
    mcc: "5131",
    description: "Piece Goods, Notions, and Other Dry Goods",
  },
  {
    category: "plumbing_heating_equipment_and_supplies",
    mcc: "5074",
    description: "Plumbing, Heating Equipment, and Supplies",
  },
  {
    category: "political_organizations",
    mcc: "8651",
    description: "Political Organizations",
  },
  {
    category: "postal_services_government_only",
    mcc: "9402",
    description: "Postal Services - Government Only",
  },
  {
    category: "precious_stones_and_metals_watches_and_jewelry",
    mcc: "5094",
    description: "Precious Stones and Metals, Watches and Jewelry",
  },
  {
    category: "professional_services",
    mcc: "8999",
    description: "Professional Services",
  },
  {
    category: "public_warehousing_and_storage",
    mcc: "4225",
    description:
      "Public Warehousing and Storage - Farm Products, Refrigerated Goods, Household Goods, and Storage",
  },
  {
    category: "quick_copy_repro_and_blueprint",
    mcc: "7338",
    description: "Quick Copy, Repro, and Blueprint",
  },
  { category: "railroads", mcc: "4011", description: "Railroads" },
  {
    category: "real_estate_agents_and_managers_rentals",
    mcc: "6513",
    description: "Real Estate Agents and Managers - Rentals",
  },
  { category: "record_stores", mcc: "5735", description: "Record Stores" },
  {
    category: "recreational_vehicle_rentals",
    mcc: "7519",
    description: "Recreational Vehicle Rentals",
  },
  {
    category: "religious_goods_stores",
    mcc: "5973",
    description: "Religious Goods Stores",
  },
  {
    category: "religious_organizations",
    mcc: "8661",
    description: "Religious Organizations",
  },
  {
    category: "roofing_siding_sheet_metal",
    mcc: "1761",
    description: "Roofing/Siding, Sheet Metal",
  },
  {
    category: "secretarial_support_services",
    mcc: "7339",
    description: "Secretarial Support Services",
  },
  {
    category: "security_brokers_dealers",
    mcc: "6211",
    description: "Security Brokers/Dealers",
  },
  {
    category: "service_stations",
    mcc: "5541",
    description: "Service Stations",
  },
  {
    category: "sewing_needlework_fabric_and_piece_goods_stores",
    mcc: "5949",
    description: "Sewing, Needlework, Fabric, and Piece Goods Stores",
  },
  {
    category: "shoe_repair_hat_cleaning",
    mcc: "7251",
    description: "Shoe Repair/Hat Cleaning",
  },
  { category: "shoe_stores", mcc: "5661", description: "Shoe Stores" },
  {
    category: "small_appliance_repair",
    mcc: "7629",
    description: "Small Appliance Repair",
  },
  {
    category: "snowmobile_dealers",
    mcc: "5598",
    description: "Snowmobile Dealers",
  },
  {
    category: "special_trade_services",
    mcc: "1799",
    description: "Special Trade Services",
  },
  {
    category: "specialty_cleaning",
    mcc: "2842",
    description: "Specialty Cleaning",
  },
  {
    category: "sporting_goods_stores",
    mcc: "5941",
    description: "Sporting Goods Stores",
  },
  {
    category: "sporting_recreation_camps",
    mcc: "7032",
    description: "Sporting/Recreation Camps",
  },
  {
    category: "sports_and_riding_apparel_stores",
    mcc: "5655",
    description: "Sports and Riding Apparel Stores",
  },
  {
    category: "sports_clubs_fields",
    mcc: "7941",
    description: "Sports Clubs/Fields",
  },
  {
    category: "stamp_and_coin_stores",
    mcc: "5972",
    description: "Stamp and Coin Stores",
  },
  {
    category: "stationary_office_supplies_printing_and_writing_paper",
    mcc: "5111",
    description: "Stationary, Office Supplies, Printing and Writing Paper",
  },
  {
    category: "stationery_stores_office_and_school_supply_stores",
    mcc: "5943",
    description: "Stationery Stores, Office, and School Supply Stores",
  },
  {
    category: "swimming_pools_sales",
    mcc: "5996",
    description: "Swimming Pools Sales",
  },
  {
    category: "t_ui_travel_germany",
    mcc: "4723",
    description: "TUI Travel - Germany",
  },
  {
    category: "tailors_alterations",
    mcc: "5697",
    description: "Tailors, Alterations",
  },
  {
    category: "tax_payments_government_agencies",
    mcc: "9311",
    description: "Tax Payments - Government Agencies",
  },
  {
    category: "tax_preparation_services",
    mcc: "7276",
    description: "Tax Preparation Services",
  },
  {
    category: "taxicabs_limousines",
    mcc: "4121",
    description: "Taxicabs/Limousines",
  },
  {
    category: "telecommunication_equipment_and_telephone_sales",
    mcc: "4812",
    description: "Telecommunication Equipment and Telephone Sales",
  },
  {
    category: "telecommunication_services",
    mcc: "4814",
    description: "Telecommunication Services",
  },
  {
    category: "telegraph_services",
    mcc: "4821",
    description: "Telegraph Services",
  },
  {
    category: "tent_and_awning_shops",
    mcc: "5998",
    description: "Tent and Awning Shops",
  },
  {
    category: "testing_laboratories",
    mcc: "8734",
    description: "Testing Laboratories",
  },
  {
    category: "theatrical_ticket_agencies",
    mcc: "7922",
    description: "Theatrical Ticket Agencies",
  },
  { category: "timeshares", mcc: "7012", description: "Timeshares" },
  {
    category: "tire_retreading_and_repair",
    mcc: "7534",
    description: "Tire Retreading and Repair",
  },
  {
    category: "tolls_bridge_fees",
    mcc: "4784",
    description: "Tolls/Bridge Fees",
  },
  {
    category: "tourist_attractions_and_exhibits",
    mcc: "7991",
    description: "Tourist Attractions and Exhibits",
  },
  { category: "towing_services", mcc: "7549", description: "Towing Services" },
  {
    category: "trailer_parks_campgrounds",
    mcc: "7033",
    description: "Trailer Parks, Campgrounds",
  },
  {
    category: "transportation_services",
    mcc: "4789",
    description: "Transportation Services (Not Elsewhere Classified)",
  },
  {
    category: "travel_agencies_tour_operators",
    mcc: "4722",
    description: "Travel Agencies, Tour Operators",
  },
  {
    category: "truck_stop_iteration",
    mcc: "7511",
    description: "Truck StopIteration",
  },
  {
    category: "truck_utility_trailer_rentals",
    mcc: "7513",
    description: "Truck/Utility Trailer Rentals",
  },
  {
    category: "typesetting_plate_making_and_related_services",
    mcc: "2791",
    description: "Typesetting, Plate Making, and Related Services",
  },
  {
    category: "typewriter_stores",
    mcc: "5978",
    description: "Typewriter Stores",
  },
  {
    category: "u_s_federal_government_agencies_or_departments",
    mcc: "9405",
    description: "U.S. Federal Government Agencies or Departments",
  },
  {
    category: "uniforms_commercial_clothing",
    mcc: "5137",
    description: "Uniforms, Commercial Clothing",
  },
  {
    category: "used_merchandise_and_secondhand_stores",
    mcc: "5931",
    description: "Used Merchandise and Secondhand Stores",
  },
  { category: "utilities", mcc: "4900", description: "Utilities" },
  { category: "variety_stores", mcc: "5331", description: "Variety Stores" },
  {
    category: "veterinary_services",
    mcc: "0742",
    description: "Veterinary Services",
  },
  {
    category: "video_amusement_game_supplies",
    mcc: "7993",
    description: "Video Amusement Game Supplies",
  },
  {
    category: "video_game_arcades",
    mcc: "7994",
    description: "Video Game Arcades",
  },
  {
    category: "video_tape_rental_stores",
    mcc: "7841",
    description: "Video Tape Rental Stores",
  },
  {
    category: "vocational_trade_schools",
    mcc: "8249",
    description: "Vocational/Trade Schools",
  },
  {
    category: "watch_jewelry_repair",
    mcc: "7631",
    description: "Watch/Jewelry Repair",
  },
  { category: "welding_repair", mcc: "7692", description: "Welding Repair" },
  { category: "wholesale_clubs", mcc: "5300", description: "Wholesale Clubs" },
  {
    category: "wig_and_toupee_stores",
    mcc: "5698",
    description: "Wig and Toupee Stores",
  },
  {
    category: "wires_money_orders",
    mcc: "4829",
    description: "Wires, Money Orders",
  },
  {
    category: "womens_accessory_and_specialty_shops",
    mcc: "5631",
    description: "Womens Accessory and Specialty Shops",
  },
  {
    category: "womens_ready_to_wear_stores",
    mcc: "5621",
    description: "Womens Ready-To-Wear Stores",
  },
  {
    category: "wrecking_and_salvage_yards",
    mcc: "5935",
    description: "Wrecking and Salvage Yards",
  },
] as const;
