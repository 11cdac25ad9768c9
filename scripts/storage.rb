# frozen_string_literal: true

# Attachments in an S3-compatible bucket (chatwoot:storage), run inside the rails container with
# `rails runner` (scripts/storage.sh), through Active Storage's own services from
# config/storage.yml: `local` (the data volume) and `s3_compatible` (the bucket, STORAGE_* env).
# The aws-sdk-s3 gem that Chatwoot ships signs every request; nothing here speaks S3 by hand.
#
#   storage.rb cors ORIGIN   lets ORIGIN's browsers upload straight to the bucket (direct uploads)
#   storage.rb migrate       copies every blob still served from the volume into the bucket and
#                            points it there, one blob at a time: resumable, and safe to re-run
#
# Prints one line "CHATWOOT_STORAGE_RESULT {json}". Credentials are never printed; errors name
# their class, not their message (it can quote a request).

module ChatwootStorage
  RESULT_MARKER = 'CHATWOOT_STORAGE_RESULT'
  BUCKET_SERVICE = :s3_compatible
  VOLUME_SERVICE = :local

  module_function

  def main(argv, stdout = $stdout, stderr = $stderr)
    result = case argv
             in ['cors', String => origin] then cors(origin)
             in ['migrate'] then migrate
             else
               stderr.puts('usage: storage.rb cors ORIGIN | storage.rb migrate')
               return 2
             end
    stdout.puts("#{RESULT_MARKER} #{JSON.generate(result)}")
    0
  rescue StandardError => e
    stderr.puts("storage: #{e.class} (message withheld: it may quote a request); check the chatwoot:storage settings and credentials")
    1
  end

  def services = ActiveStorage::Blob.services

  # The id of this stack's CORS rule: other applications' rules on the same bucket are kept.
  CORS_RULE_ID = 'chatwoot-direct-uploads'

  # Browsers PUT the file to a signed URL, with the headers ActiveStorage's direct upload sends.
  # The rule is merged into the bucket's CORS configuration: ours is replaced, the others stay.
  def cors(origin)
    bucket = services.fetch(BUCKET_SERVICE)
    client = bucket.client.client
    existing = begin
      client.get_bucket_cors(bucket: bucket.bucket.name).cors_rules.map(&:to_h)
    rescue Aws::S3::Errors::NoSuchCORSConfiguration
      []
    end
    rule = {
      id: CORS_RULE_ID,
      allowed_origins: [origin],
      allowed_methods: %w[GET PUT],
      allowed_headers: %w[Content-Type Content-MD5 Content-Disposition Cache-Control],
      expose_headers: %w[ETag],
      max_age_seconds: 3600
    }
    others = existing.reject { |r| r[:id] == CORS_RULE_ID }
    client.put_bucket_cors(bucket: bucket.bucket.name, cors_configuration: { cors_rules: others + [rule] })
    { cors_origin: origin, other_rules_kept: others.size }
  end

  # A blob moves when its file is in the bucket (uploaded with its MD5, which the bucket checks)
  # and its row says so. An interrupted run leaves some blobs moved and the rest on the volume;
  # the next run finds objects already uploaded and does not send them again.
  def migrate
    volume = services.fetch(VOLUME_SERVICE)
    bucket = services.fetch(BUCKET_SERVICE)
    counts = { copied: 0, already_in_bucket: 0, missing_on_volume: 0 }
    missing = []
    ActiveStorage::Blob.where(service_name: VOLUME_SERVICE.to_s).find_each do |blob|
      path = volume.path_for(blob.key)
      unless File.exist?(path)
        counts[:missing_on_volume] += 1
        missing << blob.key if missing.size < 5
        next
      end
      if bucket.exist?(blob.key)
        counts[:already_in_bucket] += 1
      else
        File.open(path, 'rb') { |io| bucket.upload(blob.key, io, checksum: blob.checksum) }
        counts[:copied] += 1
      end
      blob.update_columns(service_name: BUCKET_SERVICE.to_s)
    end
    counts.merge(missing_examples: missing)
  end
end

require 'json'
exit(ChatwootStorage.main(ARGV)) unless defined?(STORAGE_NO_AUTORUN)
