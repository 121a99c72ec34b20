-- A condition's resolution message waits out the integration's quiet period; a reopening before
-- it is due cancels it (a flapping condition that ends open is never reported resolved).
-- AlterTable
ALTER TABLE "NotificationCondition" ADD COLUMN     "pendingResolutionId" TEXT;
