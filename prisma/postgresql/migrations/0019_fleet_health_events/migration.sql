-- Health events of the controller itself (audit_chain) belong to no node: "nodeId" becomes
-- optional.
-- AlterTable
ALTER TABLE "HealthEvent" ALTER COLUMN "nodeId" DROP NOT NULL;
