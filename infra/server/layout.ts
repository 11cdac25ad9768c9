/**
 * Where things live on the host. Remote commands are rendered from these; the host-side scripts
 * find the app directory from their own location (<appDir>/bundle/scripts) and read the data
 * directory from the rendered .env.
 */
export const hostLayout = {
  /** Bundle (docker/, scripts/), the rendered `.env` and the deploy log. Recreated on a new server. */
  appDir: "/opt/chatwoot",
  /** Mount point of the Hetzner volume: Postgres, Redis, uploads, Caddy's certificates, backups. */
  dataDir: "/srv/chatwoot",
} as const;

export const envFilePath = `${hostLayout.appDir}/.env`;
export const bundleDir = `${hostLayout.appDir}/bundle`;
export const scriptPath = (name: string) => `${bundleDir}/scripts/${name}`;

/** Linux device path Hetzner gives a volume; stable across re-attachments, unlike automount. */
export const volumeDevicePath = (volumeId: string) => `/dev/disk/by-id/scsi-0HC_Volume_${volumeId}`;
