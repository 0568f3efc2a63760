<?php
/**
 * A user's access as MemberSync decides it, enforced through LearnDash's own access check.
 *
 * - `active` with an access_from writes user meta course_<id>_access_from exactly (LearnDash's drip clock; its
 *   own admin screen clamps a future date to now, this does not: keeping the computed moment is the point) and
 *   lifts a suspension.
 * - `suspended` records user meta membersync_suspended_<kind>_<id> (when it began) and leaves enrollment,
 *   progress and access_from alone; the filter sfwd_lms_has_access then refuses the course (or, for a group,
 *   every course the user has only through suspended groups).
 *
 * Enrolling stays LearnDash's job (its REST API): a user who is not enrolled is answered membersync_not_enrolled.
 *
 * @package MemberSync_Companion
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

class MemberSync_Companion_Access {

	const KINDS = array(
		'course' => 'sfwd-courses',
		'group'  => 'groups',
	);

	public static function register(): void {
		add_filter( 'sfwd_lms_has_access', array( __CLASS__, 'has_access' ), 20, 3 );
	}

	public static function suspension_key( string $kind, int $id ): string {
		return 'membersync_suspended_' . $kind . '_' . $id;
	}

	public static function suspended( int $user_id, string $kind, int $id ): bool {
		return '' !== (string) get_user_meta( $user_id, self::suspension_key( $kind, $id ), true );
	}

	public static function enrolled( int $user_id, string $kind, int $id ): bool {
		$key = 'course' === $kind ? 'course_' . $id . '_access_from' : 'learndash_group_users_' . $id;
		return '' !== (string) get_user_meta( $user_id, $key, true );
	}

	/**
	 * Apply one checked item: ['kind', 'id', 'status', 'access_from']. Returns the per-item result.
	 */
	public static function apply( int $user_id, array $item ): array {
		$kind   = $item['kind'];
		$id     = $item['id'];
		$result = array(
			'kind' => $kind,
			'id'   => $id,
		);
		$post   = get_post( $id );
		if ( ! $post || self::KINDS[ $kind ] !== $post->post_type ) {
			return $result + array(
				'status'  => 'failed',
				'code'    => 'membersync_invalid_id',
				'message' => sprintf( 'There is no LearnDash %s with id %d.', $kind, $id ),
			);
		}
		if ( ! self::enrolled( $user_id, $kind, $id ) ) {
			return $result + array(
				'status'  => 'failed',
				'code'    => 'membersync_not_enrolled',
				'message' => sprintf( 'User %d is not enrolled in %s %d: enroll through LearnDash first.', $user_id, $kind, $id ),
			);
		}
		$key = self::suspension_key( $kind, $id );
		if ( 'suspended' === $item['status'] ) {
			if ( ! self::suspended( $user_id, $kind, $id ) ) {
				update_user_meta( $user_id, $key, time() );
			}
			$message = sprintf( 'Access to %s %d is suspended; enrollment, progress and the drip clock are kept.', $kind, $id );
		} else {
			delete_user_meta( $user_id, $key );
			$message = sprintf( 'Access to %s %d is active', $kind, $id );
			if ( null !== $item['access_from'] ) {
				update_user_meta( $user_id, 'course_' . $id . '_access_from', (int) $item['access_from'] );
				$message .= sprintf( ', its drip clock at %s', gmdate( 'Y-m-d\TH:i:s\Z', (int) $item['access_from'] ) );
			}
			$message .= '.';
		}
		return $result + array(
			'status'  => 'success',
			'code'    => 'membersync_access_updated',
			'message' => $message,
		);
	}

	/** LearnDash's access check (a course or any of its steps) refused while MemberSync suspends it. */
	public static function has_access( $has_access, $post_id = 0, $user_id = 0 ) {
		if ( ! $has_access ) {
			return $has_access;
		}
		$user_id = $user_id ? (int) $user_id : get_current_user_id();
		if ( ! $user_id ) {
			return $has_access;
		}
		$course_id = self::course_of( (int) $post_id );
		return $course_id && self::course_blocked( $user_id, $course_id ) ? false : $has_access;
	}

	public static function course_of( int $post_id ): int {
		if ( 'sfwd-courses' === get_post_type( $post_id ) ) {
			return $post_id;
		}
		return function_exists( 'learndash_get_course_id' ) ? (int) learndash_get_course_id( $post_id ) : 0;
	}

	/**
	 * Whether MemberSync's suspensions take this course away: the course itself is suspended, or the user is not
	 * enrolled directly and every group through which she has it is suspended.
	 */
	public static function course_blocked( int $user_id, int $course_id ): bool {
		if ( self::suspended( $user_id, 'course', $course_id ) ) {
			return true;
		}
		if ( self::enrolled( $user_id, 'course', $course_id ) || ! function_exists( 'learndash_get_users_group_ids' ) ) {
			return false;
		}
		$through = array();
		foreach ( (array) learndash_get_users_group_ids( $user_id ) as $group_id ) {
			if ( in_array( $course_id, array_map( 'intval', (array) learndash_group_enrolled_courses( (int) $group_id ) ), true ) ) {
				$through[] = (int) $group_id;
			}
		}
		if ( ! $through ) {
			return false;
		}
		foreach ( $through as $group_id ) {
			if ( ! self::suspended( $user_id, 'group', $group_id ) ) {
				return false;
			}
		}
		return true;
	}
}
