-- Contract §2 (from the 2025 annual report on): each GiamNgheo unit is a commune of the declared
-- province, stored with its official code (seed communes_2025.csv); NULL for district rows of
-- earlier periods and for the total row. And two optional GiamNgheo columns: the savings-and-loan
-- groups the Union manages (count) and the overdue part of the entrusted loans (VND).
alter table raw.poverty_support
    add column commune_code        text,
    add column savings_loan_groups numeric,
    add column overdue_loans_vnd   numeric;
