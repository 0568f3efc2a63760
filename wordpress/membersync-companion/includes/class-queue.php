<?php
/**
 * The outgoing queue: each delivery is a row of {prefix}membersync_queue until MemberSync answers 2xx. Sent by
 * WP-Cron every minute (and, best effort, at the end of the request that queued it), oldest first, signed:
 *
 *   X-MemberSync-Signature: base64 of the raw HMAC-SHA256 of the exact body, keyed with the shared secret
 *   X-MemberSync-Delivery:  the delivery's id (also "id" in the body; the same on every retry)
 *   X-MemberSync-Topic:     e.g. enrollment.added
 *
 * A delivery MemberSync does not take (no answer, or not 2xx) waits 1, 2, 4 ... minutes, at most 6 hours, and is
 * never dropped; a failure stops the batch, so a MemberSync that is down is not hammered.
 *
 * @package MemberSync_Companion
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

class MemberSync_Companion_Queue {

	const DB_VERSION    = '1';
	const CRON_HOOK     = 'membersync_companion_send';
	const SCHEDULE      = 'membersync_every_minute';
	const LOCK          = 'membersync_companion_sending';
	const MAX_BACKOFF   = 21600;
	const USER_AGENT    = 'MemberSync Companion/';

	/** Whether this request queued something (the shutdown send only runs then). */
	private static bool $queued = false;

	public static function register(): void {
		add_filter( 'cron_schedules', array( __CLASS__, 'schedules' ) ); // phpcs:ignore WordPress.WP.CronInterval
		add_action( self::CRON_HOOK, array( __CLASS__, 'send_due' ) );
		add_action( 'plugins_loaded', array( __CLASS__, 'upgrade' ) );
		add_action( 'init', array( __CLASS__, 'schedule' ) );
		add_action( 'shutdown', array( __CLASS__, 'on_shutdown' ) );
	}

	public static function table(): string {
		global $wpdb;
		return $wpdb->prefix . 'membersync_queue';
	}

	public static function activate(): void {
		self::install();
		self::schedule();
	}

	public static function deactivate(): void {
		wp_clear_scheduled_hook( self::CRON_HOOK );
	}

	public static function upgrade(): void {
		if ( get_option( 'membersync_companion_db_version' ) !== self::DB_VERSION ) {
			self::install();
		}
	}

	private static function install(): void {
		global $wpdb;
		require_once ABSPATH . 'wp-admin/includes/upgrade.php';
		$charset = $wpdb->get_charset_collate();
		dbDelta(
			'CREATE TABLE ' . self::table() . " (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  delivery_id char(36) NOT NULL,
  topic varchar(64) NOT NULL,
  body longtext NOT NULL,
  attempts int(10) unsigned NOT NULL DEFAULT 0,
  next_attempt_at bigint(20) NOT NULL,
  created_at bigint(20) NOT NULL,
  last_error text NOT NULL,
  PRIMARY KEY  (id),
  KEY next_attempt_at (next_attempt_at)
) $charset;"
		);
		update_option( 'membersync_companion_db_version', self::DB_VERSION, false );
	}

	public static function schedules( array $schedules ): array {
		$schedules[ self::SCHEDULE ] = array(
			'interval' => 60,
			'display'  => 'Every minute (MemberSync deliveries)',
		);
		return $schedules;
	}

	public static function schedule(): void {
		if ( ! wp_next_scheduled( self::CRON_HOOK ) ) {
			wp_schedule_event( time(), self::SCHEDULE, self::CRON_HOOK );
		}
	}

	/**
	 * Queue one delivery about a user. $fields are the topic's own (course, lesson, quiz, percentage ...).
	 * Returns the delivery id.
	 */
	public static function push( string $topic, int $user_id, array $fields ): string {
		global $wpdb;
		$id   = wp_generate_uuid4();
		$user = $user_id ? get_userdata( $user_id ) : false;
		// The delivery's own keys come first and cannot be overridden by a topic's fields.
		$body = array(
			'id'          => $id,
			'topic'       => $topic,
			'occurred_at' => gmdate( 'Y-m-d\TH:i:s\Z' ),
			'user'        => array(
				'id'    => $user_id ? $user_id : null,
				'email' => $user ? $user->user_email : ( $fields['email'] ?? null ),
			),
		) + array_diff_key( $fields, array( 'email' => true ) );
		$now  = time();
		$wpdb->insert( // phpcs:ignore WordPress.DB.DirectDatabaseQuery
			self::table(),
			array(
				'delivery_id'     => $id,
				'topic'           => $topic,
				'body'            => wp_json_encode( $body, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE ),
				'attempts'        => 0,
				'next_attempt_at' => $now,
				'created_at'      => $now,
				'last_error'      => '',
			),
			array( '%s', '%s', '%s', '%d', '%d', '%d', '%s' )
		);
		self::$queued = true;
		return $id;
	}

	public static function length(): int {
		global $wpdb;
		return (int) $wpdb->get_var( 'SELECT COUNT(*) FROM ' . self::table() ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery,WordPress.DB.PreparedSQL
	}

	public static function signature( string $body, string $secret ): string {
		return base64_encode( hash_hmac( 'sha256', $body, $secret, true ) ); // phpcs:ignore WordPress.PHP.DiscouragedPHPFunctions.obfuscation_base64_encode
	}

	/** The end of a request that queued something: answer the visitor first where PHP-FPM allows, then try. */
	public static function on_shutdown(): void {
		if ( ! self::$queued || ! MemberSync_Companion_Settings::configured() ) {
			return;
		}
		if ( function_exists( 'fastcgi_finish_request' ) ) {
			fastcgi_finish_request();
		}
		self::send_due( 5, 3 );
	}

	/**
	 * Send the due deliveries, oldest first. Returns ['sent' => n, 'failed' => n]. One sender at a time (an option
	 * as a lock, taken over after 2 minutes if its holder died).
	 */
	public static function send_due( int $limit = 50, int $timeout = 10 ): array {
		global $wpdb;
		$done = array(
			'sent'   => 0,
			'failed' => 0,
		);
		if ( ! MemberSync_Companion_Settings::configured() || ! self::lock() ) {
			return $done;
		}
		try {
			$rows = $wpdb->get_results( // phpcs:ignore WordPress.DB.DirectDatabaseQuery
				$wpdb->prepare( 'SELECT * FROM ' . self::table() . ' WHERE next_attempt_at <= %d ORDER BY id LIMIT %d', time(), $limit ) // phpcs:ignore WordPress.DB.PreparedSQL
			);
			$secret   = MemberSync_Companion_Settings::secret();
			$endpoint = MemberSync_Companion_Settings::endpoint();
			foreach ( $rows as $row ) {
				$error = self::send( $row, $endpoint, $secret, $timeout );
				if ( '' === $error ) {
					$wpdb->delete( self::table(), array( 'id' => $row->id ), array( '%d' ) ); // phpcs:ignore WordPress.DB.DirectDatabaseQuery
					MemberSync_Companion_Settings::state_set(
						array(
							'last_delivery_at' => time(),
							'last_error'       => '',
						)
					);
					++$done['sent'];
					continue;
				}
				$attempts = (int) $row->attempts + 1;
				$wpdb->update( // phpcs:ignore WordPress.DB.DirectDatabaseQuery
					self::table(),
					array(
						'attempts'        => $attempts,
						'next_attempt_at' => time() + min( 60 * ( 2 ** ( $attempts - 1 ) ), self::MAX_BACKOFF ),
						'last_error'      => $error,
					),
					array( 'id' => $row->id ),
					array( '%d', '%d', '%s' ),
					array( '%d' )
				);
				MemberSync_Companion_Settings::state_set( array( 'last_error' => $error ) );
				++$done['failed'];
				break;
			}
		} finally {
			delete_option( self::LOCK );
		}
		return $done;
	}

	/** Post one delivery; '' when MemberSync took it (2xx), else what went wrong. */
	private static function send( object $row, string $endpoint, string $secret, int $timeout ): string {
		$response = wp_remote_post(
			$endpoint,
			array(
				'body'        => $row->body,
				'timeout'     => $timeout,
				'redirection' => 0,
				'user-agent'  => self::USER_AGENT . MEMBERSYNC_COMPANION_VERSION,
				'headers'     => array(
					'Content-Type'           => 'application/json',
					'X-MemberSync-Signature' => self::signature( $row->body, $secret ),
					'X-MemberSync-Delivery'  => $row->delivery_id,
					'X-MemberSync-Topic'     => $row->topic,
				),
			)
		);
		if ( is_wp_error( $response ) ) {
			return 'could not reach ' . $endpoint . ': ' . $response->get_error_message();
		}
		$code = (int) wp_remote_retrieve_response_code( $response );
		if ( $code >= 200 && $code < 300 ) {
			return '';
		}
		$said = substr( wp_strip_all_tags( (string) wp_remote_retrieve_body( $response ) ), 0, 200 );
		return sprintf( '%s answered HTTP %d%s', $endpoint, $code, '' === $said ? '' : ': ' . $said );
	}

	private static function lock(): bool {
		if ( add_option( self::LOCK, time(), '', 'no' ) ) {
			return true;
		}
		$since = (int) get_option( self::LOCK );
		if ( $since && $since < time() - 120 ) {
			update_option( self::LOCK, time(), false );
			return true;
		}
		return false;
	}
}
