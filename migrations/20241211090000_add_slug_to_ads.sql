-- Ad pages move from /ads/<id> to /ads/<slug>. Nullable for now: existing rows have no slug yet.
ALTER TABLE "ads" ADD COLUMN "slug" TEXT;
CREATE UNIQUE INDEX "ads_slug_key" ON "ads" ("slug");
